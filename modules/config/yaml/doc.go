// Package yaml reads YAML configuration files, .yaml and .yml, for the
// config package, with go.yaml.in/yaml/v3. Only programs that pass its
// Format to config.Formats link a YAML parser.
package yaml
