// Package config loads playbooks and roles from HCL into typed structures that are not yet
// evaluated: every value a host could change stays an hcl.Expression with its source range,
// so that a failure at run time can point at the line that caused it.
//
// Loading checks everything that can be checked without a host: syntax, unknown blocks and
// arguments (with the nearest valid name suggested), module arguments against each module's
// spec, missing roles, templates and handlers, and references to variables nobody defines.
// Every problem is an hcl.Diagnostic; loading accumulates them rather than stopping at the
// first. The inventory has its own package; evaluation per host belongs to package eval.
package config
