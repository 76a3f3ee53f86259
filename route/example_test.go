package route_test

import (
	"fmt"

	"github.com/funcd/funcd/route"
)

func Example() {
	tmpl, err := route.Parse("api/products/{category:alpha}/{id:int?}")
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/api/products/shoes/42", "/API/products/shoes", "/api/products/shoes/x"} {
		values, ok := tmpl.Match(path)
		if !ok {
			fmt.Println(path, "does not match")
			continue
		}
		id := "(none)"
		if values["id"] != nil {
			id = *values["id"]
		}
		fmt.Println(path, "category:", *values["category"], "id:", id)
	}
	// Output:
	// /api/products/shoes/42 category: shoes id: 42
	// /API/products/shoes category: shoes id: (none)
	// /api/products/shoes/x does not match
}

func ExampleParse_error() {
	_, err := route.Parse("api/{id}/{ID:int}")
	fmt.Println(err)
	// Output:
	// The route parameter name 'ID' appears more than one time in the route template.
}
