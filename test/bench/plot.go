package bench

import (
	"fmt"
	"image/color"
	"os"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var setupColors = map[string]color.Color{
	SetupNone:           color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff},
	SetupFixed:          color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	SetupHook:           color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	SetupPolicy:         color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	SetupTaskgatePolicy: color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// WritePlot draws the latency distributions as cumulative curves: Job
// create latency per admission setup (all rounds pooled), and the cap's
// convergence times, side by side in one PNG.
func WritePlot(path string, admission []AdmissionResult, capResult *CapResult) error {
	var panels []*plot.Plot
	if len(admission) > 0 {
		p := plot.New()
		p.Title.Text = "Job create latency through kube-apiserver"
		p.X.Label.Text = "latency (ms, log scale)"
		p.Y.Label.Text = "fraction of creates"
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		p.Legend.Top, p.Legend.Left = false, false
		for _, s := range setups {
			var pooled []time.Duration
			for _, r := range admission {
				if r.Setup == s.name {
					pooled = append(pooled, r.Latencies...)
				}
			}
			if err := addCDF(p, s.name, pooled, setupColors[s.name]); err != nil {
				return err
			}
		}
		panels = append(panels, p)
	}
	if capResult != nil && len(capResult.AfterFinish)+len(capResult.AfterCreate) > 0 {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Back at the cap of %d", capTasks)
		p.X.Label.Text = "time to converge (ms)"
		p.Y.Label.Text = "fraction of samples"
		p.Legend.Top, p.Legend.Left = false, false
		if err := addCDF(p, "after the Task past the cap finishes", capResult.AfterFinish, setupColors[SetupHook]); err != nil {
			return err
		}
		if err := addCDF(p, "after a create puts the App over", capResult.AfterCreate, setupColors[SetupNone]); err != nil {
			return err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	const panelWidth, height = 14 * vg.Centimeter, 10 * vg.Centimeter
	img := vgimg.New(panelWidth*vg.Length(len(panels)), height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Centimeter}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the plot: %w", err)
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return fmt.Errorf("writing the plot: %w", err)
	}
	return nil
}

// addCDF adds samples to p as an empirical cumulative distribution.
func addCDF(p *plot.Plot, name string, samples []time.Duration, c color.Color) error {
	if len(samples) == 0 {
		return nil
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	pts := make(plotter.XYs, len(s))
	for i, d := range s {
		pts[i] = plotter.XY{X: max(millis(d), 0.001), Y: float64(i+1) / float64(len(s))}
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("plotting %s: %w", name, err)
	}
	line.Color = c
	line.Width = vg.Points(1.5)
	p.Add(line)
	p.Legend.Add(name, line)
	return nil
}
