package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	"github.com/taskgate/taskgate/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || (args[0] != "image" && args[0] != "release") {
		return errors.New("usage: release image|release [flags]; see -h")
	}
	mode := args[0]
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	dist := fs.String("dist", "dist", "directory to write into")
	version := fs.String("version", "", "release version (SemVer); default: the chart's appVersion")
	revision := fs.String("revision", "", "commit for the image's revision label")
	source := fs.String("source", release.DefaultSource, "repository for the image's source label")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every file and config; default $SOURCE_DATE_EPOCH, else 0")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the image")
	chart := fs.String("chart", "charts/taskgate", "the chart's directory")
	helm := fs.String("helm", "go tool -modfile=tools/go.mod helm", "helm command")
	push := fs.String("push", "", "image: also push the image to this reference, e.g. registry.example.com/taskgate/taskgate:v0.1.0")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *push != "" && mode != "image" {
		return errors.New("-push is for image")
	}

	opts := release.Options{
		Dist: *dist, Version: *version, Revision: *revision, Source: *source,
		Helm: strings.Fields(*helm), ChartDir: *chart,
	}
	if opts.Version == "" {
		v, err := appVersion(*chart)
		if err != nil {
			return err
		}
		opts.Version = v
	}
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil || sec < 0 {
			return fmt.Errorf("-source-date-epoch %q is not a non-negative Unix time", *epoch)
		}
		opts.Created = time.Unix(sec, 0).UTC()
	}
	for _, s := range strings.Split(*platforms, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-platforms: %w", err)
		}
		opts.Platforms = append(opts.Platforms, *p)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if mode == "release" {
		files, err := release.Run(ctx, opts)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Println(filepath.Join(opts.Dist, f))
		}
		fmt.Fprintf(os.Stderr, "release %s written in %s\n", opts.Version, time.Since(start).Round(time.Millisecond))
		return nil
	}
	img, err := release.WriteImage(ctx, opts)
	if err != nil {
		return err
	}
	for _, f := range img.Files {
		fmt.Println(filepath.Join(opts.Dist, f))
	}
	fmt.Fprintf(os.Stderr, "image %s written in %s\n", img.Digest, time.Since(start).Round(time.Millisecond))
	if *push == "" {
		return nil
	}
	ref, err := name.ParseReference(*push)
	if err != nil {
		return fmt.Errorf("-push: %w", err)
	}
	if err := remote.WriteIndex(ref, img.Index, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing the image to %s: %w", ref, err)
	}
	fmt.Println(ref.Context().Digest(img.Digest.String()).String())
	return nil
}

// appVersion is the chart's appVersion, the default release version.
func appVersion(chart string) (string, error) {
	b, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the default version: %w", err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("reading the default version from %s: %w", chart, err)
	}
	if c.AppVersion == "" {
		return "", fmt.Errorf("%s/Chart.yaml has no appVersion; give -version", chart)
	}
	return c.AppVersion, nil
}
