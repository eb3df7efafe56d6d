// Package imageinspect reads an image's config labels from its registry,
// to tell a buildpack (CNB) image, whose commands run through its
// launcher, from any other.
//
// Reading an image is an HTTP request from the manager to the registry
// the image names. The caller decides whether it may be made (policy
// LauncherDetection); this package only makes it, with the credentials of
// the pull Secrets the caller gives for that registry or anonymously, with
// a short timeout, through a transport the caller may replace, and caches
// what it learns: an image named by digest for as long as the cache holds
// it, by tag and a failure for a short time.
//
// It imports no package of taskgate: policy decides whether to read, and
// the webhook calls it.
package imageinspect
