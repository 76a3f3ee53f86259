package scaffold

import (
	"embed"
	"io/fs"
)

// templates holds the files Init and New write. Files that the Go tool or
// embed would treat specially are stored under other names: "gitignore" and
// "funcignore" without their leading dot, Go sources and go.mod with a .tmpl
// suffix.
//
//go:embed templates
var templates embed.FS

// embedded returns an embedded template file; it panics on a name that is
// not embedded, which is a bug in this package.
func embedded(name string) []byte {
	data, err := fs.ReadFile(templates, "templates/"+name)
	if err != nil {
		panic("scaffold: " + err.Error())
	}
	return data
}
