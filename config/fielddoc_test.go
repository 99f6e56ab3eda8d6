package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestFieldDocs: each struct field's doc comment is its table row's doc
// (extensions prefixed "Stapel: "), so go doc and PARAMETERS.md agree.
func TestFieldDocs(t *testing.T) {
	fset := token.NewFileSet()
	docs := map[string]string{} // "Type.Field" → comment
	for _, name := range []string{"tcpip.go", "netbt.go", "afd.go", "dnscache.go", "iface_fields.go", "services.go"} {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fld := range st.Fields.List {
				for _, id := range fld.Names {
					docs[ts.Name.Name+"."+id.Name] = strings.TrimSpace(fld.Doc.Text())
				}
			}
			return false
		})
	}
	for _, so := range sectionOrder {
		for _, e := range sections[so.name].entries {
			got := strings.TrimPrefix(docs[so.typ.Name()+"."+e.field], "Stapel: ")
			if got != e.doc {
				t.Errorf("%s.%s: doc comment %q, table says %q", so.typ.Name(), e.field, got, e.doc)
			}
		}
	}
}
