//go:build unix || windows

package sockopt

import "net"

// keepAliveNames are a platform's level and option numbers for keepalive:
// the same calls in the same order on every platform with sockets, only
// the numbers differ (and, on Windows, the handle type behind setInt).
type keepAliveNames struct {
	solSocket, soKeepAlive, ipprotoTCP int
	idle, intvl, cnt                   int
}

// setKeepAlive sets SO_KEEPALIVE and, when ka.Enable is true, each timer
// that ka does not leave alone (negative), through the platform's setBool
// and setInt. validate has already refused zero and out-of-range values.
func setKeepAlive(fd uintptr, n keepAliveNames, ka net.KeepAliveConfig) error {
	if err := setBool(fd, n.solSocket, n.soKeepAlive, ka.Enable); err != nil || !ka.Enable {
		return err
	}
	for _, t := range [...]struct{ name, v int }{
		{n.idle, keepAliveSecs(ka.Idle)},
		{n.intvl, keepAliveSecs(ka.Interval)},
		{n.cnt, ka.Count},
	} {
		if t.v < 0 {
			continue
		}
		if err := setInt(fd, n.ipprotoTCP, t.name, t.v); err != nil {
			return err
		}
	}
	return nil
}
