package sbom

// Doc is the part of a CycloneDX document the tests read back.
type Doc struct {
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Metadata     struct {
		Timestamp string `json:"timestamp"`
		Component Comp   `json:"component"`
	} `json:"metadata"`
	Components []Comp `json:"components"`
}

// Comp is one component.
type Comp struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
	Hashes  []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
	Components []Comp `json:"components"`
}

func (c Comp) Prop(name string) string {
	if v := c.Props(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c Comp) Props(name string) []string {
	var out []string
	for _, p := range c.Properties {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

func (c Comp) Hash() string {
	for _, h := range c.Hashes {
		if h.Alg == "SHA-256" {
			return h.Content
		}
	}
	return ""
}

// Split returns the file components by path and the image components by
// the name the installer carries them under.
func (d Doc) Split() (files, images map[string]Comp) {
	files, images = map[string]Comp{}, map[string]Comp{}
	for _, c := range d.Components {
		switch c.Type {
		case "file":
			files[c.Name] = c
		case "container":
			images[c.Prop(PropImage)] = c
		}
	}
	return files, images
}
