// Package sockopt implements socket options as values for
// [net.ListenConfig] and [net.Dialer] Control functions, each set at the
// moment it takes effect and read back as the kernel holds it.
package sockopt
