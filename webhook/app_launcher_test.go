package webhook

import (
	"context"
	"reflect"
	"testing"

	"github.com/taskgate/taskgate/policy"
)

func TestAppValidatorLauncher(t *testing.T) {
	tests := []struct {
		launcher string
		want     []string
	}{
		{launcher: ""},
		{launcher: "/cnb/lifecycle/launcher"},
		{launcher: "/cnb/lifecycle/../lifecycle/launcher", want: []string{
			`spec.launcher: Invalid value: "/cnb/lifecycle/../lifecycle/launcher": must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle/launcher`,
		}},
		{launcher: "/", want: []string{
			`spec.launcher: Invalid value: "/": must name a file in the image, not /; for example /cnb/lifecycle/launcher`,
		}},
		// The CRD's CEL rule refuses this first; the webhook says the same
		// for a request that reaches it another way (a fuzzed review).
		{launcher: "cnb/lifecycle/launcher", want: []string{
			`spec.launcher: Invalid value: "cnb/lifecycle/launcher": must be an absolute path in the image, for example /cnb/lifecycle/launcher`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.launcher, func(t *testing.T) {
			v := &AppValidator{Policy: fixedPolicy{policy.Default()}}
			app := sgApp()
			app.Spec.Launcher = tt.launcher
			_, err := v.ValidateCreate(context.Background(), app)
			if got := causes(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("causes = %q, want %q", got, tt.want)
			}
		})
	}
}
