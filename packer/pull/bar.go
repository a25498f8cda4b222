package pull

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// ProgressBar returns an Options.OnProgress that draws a byte progress bar on
// w, a terminal (callers check; without one, use Options.Progress lines),
// and a finish function that ends its line.
func ProgressBar(w io.Writer, description string) (onProgress func(done, total int64), finish func()) {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	var max int64
	onProgress = func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			if total == 0 {
				return // nothing to download: no bar
			}
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(description),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionUseIECUnits(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetRenderBlankState(true),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
			max = total
		}
		if total != max {
			bar.ChangeMax64(total) // a corrupt cache entry adds a download
			max = total
		}
		bar.Set64(done)
	}
	finish = func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil && !bar.IsFinished() {
			bar.Finish()
		}
	}
	return onProgress, finish
}
