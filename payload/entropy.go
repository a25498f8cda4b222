package payload

// minSample is the smallest input looksRandom judges: below it a histogram
// says little, and compressing costs little anyway.
const minSample = 512

// sampleWindow is the size of each of the four windows looksRandom reads
// from a large input, so judging a chunk costs a small fraction of
// compressing it.
const sampleWindow = 4 << 10

// looksRandom reports whether b is not worth compressing: its bytes are
// close to uniformly distributed (compressed or encrypted content), so zstd
// would save less than the 1/32 the Writer asks for.
//
// It measures the collision probability of a sample, sum(count²)/n², which
// is 1/256 + 1/n for n random bytes and far larger for anything with
// structure (text: ~1/20, machine code: ~1/30, even base64: 1/64), and needs
// no logarithm. It calls b random when that probability is within 25% of the
// random one (Rényi entropy within 0.32 bit of 8): then entropy coding could
// save at most about 4%, and a random sample of 512 bytes lands three
// standard deviations inside the bound. Content made of long
// repeats of random bytes escapes it; such content is rare, and this only
// costs compression, never correctness.
func looksRandom(b []byte) bool {
	if len(b) < minSample {
		return false
	}
	var h [4][256]uint32
	count := func(s []byte) {
		for len(s) >= 4 {
			h[0][s[0]]++
			h[1][s[1]]++
			h[2][s[2]]++
			h[3][s[3]]++
			s = s[4:]
		}
		for _, c := range s {
			h[0][c]++
		}
	}
	n := len(b)
	if n <= 4*sampleWindow {
		count(b)
	} else {
		for i := range 4 {
			at := (n - sampleWindow) * i / 3
			count(b[at : at+sampleWindow])
		}
		n = 4 * sampleWindow
	}
	var sum uint64
	for c := range 256 {
		k := uint64(h[0][c] + h[1][c] + h[2][c] + h[3][c])
		sum += k * k
	}
	// sum/n² < 1.25 * (1/256 + 1/n), in integers: 1024*sum < 5*n*(n+256).
	nn := uint64(n)
	return 1024*sum < 5*nn*(nn+256)
}
