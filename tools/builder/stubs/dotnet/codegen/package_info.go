// Package codegen stands in for pulumi-dotnet's code generator, which the module proxy does not
// serve: the docker-build provider only fills in this struct as schema metadata.
package codegen

// CSharpPackageInfo holds the fields the provider sets, with upstream's JSON names.
type CSharpPackageInfo struct {
	RespectSchemaVersion bool              `json:"respectSchemaVersion,omitempty"`
	PackageReferences    map[string]string `json:"packageReferences,omitempty"`
}
