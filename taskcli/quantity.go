package taskcli

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// cfSize matches a size with a Cloud Foundry unit: a number and one of
// K, M, G or T, optionally followed by B, in any case. Cloud Foundry, like
// `cf push -m 512M`, counts these in powers of 1024.
var cfSize = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT])[bB]?$`)

// cfBytes matches a plain byte count with a B suffix, such as 1024B.
var cfBytes = regexp.MustCompile(`^([0-9]+)\s*[bB]$`)

// ParseSize parses a memory or disk size. Sizes with a Cloud Foundry unit
// mean what they mean to `cf run-task`: K, KB, M, MB, G, GB, T and TB, in any
// case, are powers of 1024, so 512M and 512MB are 512Mi, and 1G and 1GB are
// 1Gi. Anything else is a Kubernetes quantity, such as 512Mi, 1Gi or
// 500000000 (bytes). The size must be a whole, positive number of bytes.
func ParseSize(s string) (resource.Quantity, error) {
	s = strings.TrimSpace(s)
	text, binary := s, false
	if m := cfSize.FindStringSubmatch(s); m != nil {
		text, binary = m[1]+strings.ToUpper(m[2])+"i", true
	} else if m := cfBytes.FindStringSubmatch(s); m != nil {
		text, binary = m[1], true
	}
	q, err := resource.ParseQuantity(text)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("%q is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi", s)
	}
	if q.Sign() <= 0 {
		return resource.Quantity{}, fmt.Errorf("%q must be greater than 0", s)
	}
	if q.MilliValue()%1000 != 0 {
		return resource.Quantity{}, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	format := q.Format
	if binary {
		format = resource.BinarySI
	}
	// Re-create the quantity so that it prints canonically (1.5Gi as 1536Mi).
	return *resource.NewQuantity(q.Value(), format), nil
}

// ParseCPU parses a CPU amount: a Kubernetes quantity such as 500m or 2.
func ParseCPU(s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("%q is not a CPU amount: use cores, such as 2 or 0.5, or millicores, such as 500m", s)
	}
	if q.Sign() <= 0 {
		return resource.Quantity{}, fmt.Errorf("%q must be greater than 0", s)
	}
	return q, nil
}
