package payload

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Well-known labels.
const (
	LabelTitle   = "org.opencontainers.image.title"
	LabelVersion = "org.opencontainers.image.version"
)

// Report is what `inspect` shows: the same for the installer itself and for
// `sealpack inspect`, whatever platform the installer is for.
type Report struct {
	Name         string            `json:"name,omitempty"`
	Version      string            `json:"version,omitempty"`
	Platform     string            `json:"platform"`
	Labels       map[string]string `json:"labels"`
	Env          []string          `json:"env"`
	Cmds         []string          `json:"cmds"`
	Apps         []ReportApp       `json:"apps"`   // every carried app (apps.go)
	Launch       []string          `json:"launch"` // the apps launched by default, in order
	Files        []ReportFile      `json:"files"`
	Images       []Image           `json:"images"`
	Parts        []Part            `json:"parts,omitempty"`
	StubBytes    int64             `json:"stubBytes"`
	PayloadBytes int64             `json:"payloadBytes"`
	ContentBytes int64             `json:"contentBytes"` // uncompressed rootfs bytes
	Blobs        int               `json:"blobs"`
	Index        string            `json:"index"`          // sha256 of the stored index: what a signature signs
	Signature    ReportSignature   `json:"signature"`      // Report sets Signed (signature.go)
	SBOM         string            `json:"sbom,omitempty"` // digest of the bill of materials (inspect --sbom prints it)
}

// ReportFile is one rootfs entry as inspect lists it.
type ReportFile struct {
	Path   string   `json:"path"`
	Type   FileType `json:"type"`
	Size   int64    `json:"size"`
	Mode   string   `json:"mode"`
	Target string   `json:"target,omitempty"`
}

// Report summarizes the installer from its index alone.
func (r *Reader) Report() *Report {
	x := r.index
	rep := &Report{
		Name: x.Labels[LabelTitle], Version: x.Labels[LabelVersion], Platform: x.Platform,
		Labels: x.Labels, Env: x.Env, Cmds: x.Cmds, Images: x.Images, Parts: x.Parts,
		StubBytes: x.StubSize, PayloadBytes: r.PayloadBytes(), Blobs: len(x.Blobs),
		Index: r.Digest(), Signature: ReportSignature{Signed: r.Signed()}, SBOM: x.SBOM,
	}
	if rep.Labels == nil {
		rep.Labels = map[string]string{}
	}
	for _, s := range []*[]string{&rep.Env, &rep.Cmds} {
		if *s == nil {
			*s = []string{}
		}
	}
	if rep.Images == nil {
		rep.Images = []Image{}
	}
	rep.Apps, rep.Launch = reportApps(x), append([]string{}, x.Launch...)
	rep.Files = make([]ReportFile, 0, len(x.Files))
	for _, f := range x.Files {
		rep.Files = append(rep.Files, ReportFile{Path: f.Path, Type: f.Type, Size: f.Size, Mode: fmt.Sprintf("%04o", uint32(f.Mode.Perm())), Target: f.Target})
		rep.ContentBytes += f.Size
	}
	return rep
}

// WriteJSON writes the report as one JSON object.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for a person. Each section aligns on its own,
// so one long label does not push every column to the right.
func (rep *Report) WriteText(w io.Writer) error {
	section := func(fill func(tw *tabwriter.Writer)) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fill(tw)
		return tw.Flush()
	}
	var files, dirs int
	for _, f := range rep.Files {
		if f.Type == TypeDir {
			dirs++
		} else {
			files++
		}
	}
	if err := section(func(tw *tabwriter.Writer) { rep.summary(tw, files, dirs) }); err != nil {
		return err
	}
	keys := make([]string, 0, len(rep.Labels))
	for k := range rep.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sections := []struct {
		title string
		n     int
		fill  func(tw *tabwriter.Writer)
	}{
		{"Labels", len(keys), func(tw *tabwriter.Writer) {
			for _, k := range keys {
				fmt.Fprintf(tw, "  %s\t%s\n", k, rep.Labels[k])
			}
		}},
		{"Install commands (run in order on the first master)", len(rep.Cmds), func(tw *tabwriter.Writer) {
			for i, c := range rep.Cmds {
				fmt.Fprintf(tw, "  %d\t%s\n", i+1, c)
			}
		}},
		{"Applications (launched in this order unless spec.appNames chooses)", len(rep.Apps), func(tw *tabwriter.Writer) {
			rep.appsSection(tw)
		}},
		{"Images", len(rep.Images), func(tw *tabwriter.Writer) {
			for _, im := range rep.Images {
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", im.Name, im.Platform, HumanBytes(im.Size))
			}
		}},
		{"Files (images/ aside)", files, func(tw *tabwriter.Writer) {
			for _, f := range rep.Files {
				if f.Type == TypeDir || strings.HasPrefix(f.Path, "images/") {
					continue
				}
				line := fmt.Sprintf("  %s\t%s\t%s", f.Mode, HumanBytes(f.Size), f.Path)
				if f.Type == TypeSymlink {
					line += " -> " + f.Target
				}
				fmt.Fprintln(tw, line)
			}
		}},
	}
	for _, sec := range sections {
		if sec.n == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", sec.title)
		if err := section(sec.fill); err != nil {
			return err
		}
	}
	return nil
}

// summary is the report's first section: what the installer is and holds.
func (rep *Report) summary(tw *tabwriter.Writer, files, dirs int) {
	name := rep.Name
	if name == "" {
		name = "(no title label)"
	}
	fmt.Fprintf(tw, "Name:\t%s\n", name)
	if rep.Version != "" {
		fmt.Fprintf(tw, "Version:\t%s\n", rep.Version)
	}
	fmt.Fprintf(tw, "Platform:\t%s\n", rep.Platform)
	fmt.Fprintf(tw, "Signature:\t%s\n", rep.Signature)
	fmt.Fprintf(tw, "Index:\t%s\n", rep.Index)
	fmt.Fprintf(tw, "Size:\t%s payload (%s of content, %d blobs) + %s installer program\n",
		HumanBytes(rep.PayloadBytes), HumanBytes(rep.ContentBytes), rep.Blobs, HumanBytes(rep.StubBytes))
	if len(rep.Parts) > 0 {
		fmt.Fprintf(tw, "Parts:\t%d split parts beside the installer\n", len(rep.Parts))
	}
	if len(rep.Apps) > 0 {
		fmt.Fprintf(tw, "Apps:\t%d (%d launched by default)\n", len(rep.Apps), len(rep.Launch))
	}
	fmt.Fprintf(tw, "Images:\t%d\n", len(rep.Images))
	fmt.Fprintf(tw, "Files:\t%d files, %d directories\n", files, dirs)
	if rep.SBOM != "" {
		fmt.Fprintf(tw, "Bill of materials:\tCycloneDX 1.5 JSON (inspect --sbom prints it)\n")
	} else {
		fmt.Fprintf(tw, "Bill of materials:\tnone (built before sealpack wrote one)\n")
	}
}

// HumanBytes formats n with a binary unit: 1.5 GiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
