// Package java stands in for pulumi-java's code generator, which the module proxy does not serve:
// the docker-build provider only fills in this struct as schema metadata.
package java

// PackageInfo holds the fields the provider sets, with upstream's JSON names.
type PackageInfo struct {
	BuildFiles                      string            `json:"buildFiles"`
	GradleNexusPublishPluginVersion string            `json:"gradleNexusPublishPluginVersion"`
	Dependencies                    map[string]string `json:"dependencies,omitempty"`
}
