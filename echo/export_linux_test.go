package echo

// KnowsSegmentation is the check newBatcher makes before it segments
// replies, for the tests of package echo_test.
var KnowsSegmentation = knowsSegmentation
