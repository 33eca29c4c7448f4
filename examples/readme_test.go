package examples_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snippetRE finds the README's quick-start snippets: a marker comment
// naming the Example function, then a fenced Go block.
var snippetRE = regexp.MustCompile("(?s)<!-- snippet: (\\S+) (\\w+) -->\n```go\n(.*?)```")

// TestREADMESnippets checks that every snippet in the README is, character
// for character, the body of the Example function it names, so the README
// shows only code that compiles and whose output go test checks.
func TestREADMESnippets(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets := snippetRE.FindAllSubmatch(readme, -1)
	if len(snippets) == 0 {
		t.Fatal("README.md has no <!-- snippet: FILE FUNC --> blocks")
	}
	// A marker without a well-formed block after it is a mistake too.
	if markers := strings.Count(string(readme), "<!-- snippet:"); markers != len(snippets) {
		t.Errorf("README.md has %d snippet markers but %d well-formed snippets", markers, len(snippets))
	}
	for _, m := range snippets {
		file, fn, block := string(m[1]), string(m[2]), string(m[3])
		t.Run(file+"/"+fn, func(t *testing.T) {
			t.Parallel()
			if !strings.HasPrefix(fn, "Example") {
				t.Fatalf("%s is not an Example function", fn)
			}
			body, err := exampleBody(filepath.Join("..", filepath.FromSlash(file)), fn)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(body, block); diff != "" {
				t.Errorf("README snippet differs from the body of %s in %s (-example +readme):\n%s", fn, file, diff)
			}
		})
	}
}

// exampleBody returns the statements of function name in path as a reader
// sees them in the README: without the braces and one level of indent.
func exampleBody(path, name string) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != name || fd.Body == nil {
			continue
		}
		start := fset.Position(fd.Body.Lbrace).Offset + 1
		end := fset.Position(fd.Body.Rbrace).Offset
		lines := strings.Split(strings.Trim(string(src[start:end]), "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "\t")
		}
		return strings.Join(lines, "\n") + "\n", nil
	}
	return "", fmt.Errorf("%s: no function %s: %w", path, name, os.ErrNotExist)
}
