// Command taskgate is the taskgate manager: the admission webhooks, the
// policy loader and the reconcilers in one binary. Its flags are copied into
// manager.Options; nothing below cmd/ reads flags.
//
// It may import manager and uninstall, and nothing else of taskgate: the
// packages below it are wired together in manager.
package main
