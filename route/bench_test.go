package route

import "testing"

func BenchmarkMatch(b *testing.B) {
	tmpl := mustParse(b, "api/products/{category:alpha}/{id:int?}")
	benchmarks := []struct{ name, path string }{
		{"hit", "/api/products/shoes/42"},
		{"hit-escaped", "/api/products/%73hoes/42"},
		{"miss-literal", "/api/orders/shoes/42"},
		{"miss-constraint", "/api/products/shoes/x"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tmpl.Match(bm.path)
			}
		})
	}
}

func BenchmarkMatchComplex(b *testing.B) {
	tmpl := mustParse(b, "files/{*dir}")
	tmplComplex := mustParse(b, "img/{name}.{ext?}")
	b.ReportAllocs()
	for b.Loop() {
		tmpl.Match("/files/a/b/c.txt")
		tmplComplex.Match("/img/cat.tar.gz")
	}
}
