//go:build !unix && !windows

package sockopt

// Platforms without socket options (js, wasip1, plan9): every option is
// unsupported, and Get reports so rather than a zero Settings.

func sysSupported(option) error { return errUnsupported() }

func sysInfo(uintptr) (sockInfo, error) { return sockInfo{}, errUnsupported() }

func sysListening(uintptr) (bool, error) { return false, errUnsupported() }

func sysSet(uintptr, option) error { return errUnsupported() }

func sysGet(uintptr, sockInfo) (Settings, error) { return Settings{}, errUnsupported() }
