package payload

import (
	"context"
	"fmt"
	"io"
	"os"
)

// copyPiece bounds one kernel copy, so that progress moves and a cancel is
// seen within a second or so.
const copyPiece = 64 << 20

// copyRange copies the jobs file to file inside the kernel (copy_file_range;
// a reflink where the filesystem shares extents), never through this
// process's memory: merge then copies at the speed of cat, or faster. As cat,
// it does not hash what it copies: the index keeps every chunk's sha256, and
// `verify` of the result checks them all. It applies when both payloads are
// single files; it reports false, having done nothing, otherwise.
func (w *Writer) copyRange(ctx context.Context, r *Reader, jobs []copyJob, progress func(n int64)) (bool, error) {
	src, ok := r.file.(*os.File)
	if !ok || len(r.index.Parts) > 0 || w.sink.partData != 0 {
		return false, nil
	}
	dst := w.sink.main
	for i := 0; i < len(jobs); {
		// A run: chunks that follow each other in r (and so at their new
		// place, planned in r's order).
		j, n := i+1, jobs[i].c.Stored
		for j < len(jobs) && jobs[j].c.Offset == jobs[j-1].c.Offset+jobs[j-1].c.Stored {
			n += jobs[j].c.Stored
			j++
		}
		from, to := r.index.StubSize+jobs[i].c.Offset, w.sink.base+jobs[i].to
		for done := int64(0); done < n; {
			if err := ctx.Err(); err != nil {
				return true, err
			}
			piece := min(copyPiece, n-done)
			if _, err := src.Seek(from+done, io.SeekStart); err != nil {
				return true, err
			}
			if _, err := dst.Seek(to+done, io.SeekStart); err != nil {
				return true, err
			}
			got, err := dst.ReadFrom(io.LimitReader(src, piece))
			if err == nil && got != piece {
				err = fmt.Errorf("chunk at data offset %d: %w", jobs[i].c.Offset+done+got, io.ErrUnexpectedEOF)
			}
			if err != nil {
				return true, fmt.Errorf("copying data at %d: %w", jobs[i].c.Offset+done, err)
			}
			done += piece
			if progress != nil {
				progress(piece)
			}
		}
		if end := jobs[i].to + n; end > w.sink.size {
			w.sink.size = end
		}
		i = j
	}
	return true, nil
}
