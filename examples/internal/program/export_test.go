package program

// ExitStatus exposes exitStatus, Main without the process, to the tests.
var ExitStatus = exitStatus
