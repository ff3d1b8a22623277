// Package eval builds what an expression sees on one host: the merged variables with their
// layers, the host, its facts, every other host, the groups, registered results and loop
// items, and the function library. It evaluates expressions and renders templates in that
// scope. It runs nothing and reaches no host; facts come in as values.
package eval
