package variant

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/aexp/aexp/variant/internal/pb"
)

// chunkSize is the largest piece of an artifact or checkpoint in one
// message; far below every gRPC default limit.
const chunkSize = 1 << 20

// toPBValue converts a parameter value (canonical or as JSON/TOML decode it)
// to its wire form.
func toPBValue(v any) (*pb.Value, error) {
	switch x := v.(type) {
	case bool:
		return &pb.Value{Kind: &pb.Value_Bool{Bool: x}}, nil
	case string:
		return &pb.Value{Kind: &pb.Value_Str{Str: x}}, nil
	case float32:
		return &pb.Value{Kind: &pb.Value_Float{Float: float64(x)}}, nil
	case float64:
		return &pb.Value{Kind: &pb.Value_Float{Float: x}}, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return &pb.Value{Kind: &pb.Value_Int{Int: i}}, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		return &pb.Value{Kind: &pb.Value_Float{Float: f}}, nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		i, err := toInt(x)
		if err != nil {
			return nil, err
		}
		return &pb.Value{Kind: &pb.Value_Int{Int: i}}, nil
	case nil:
		return nil, fmt.Errorf("null value")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("unsupported value %v (%T)", v, v)
	}
	// A list: an int list if every element is an integer type, else a float
	// list if every element is a number.
	n := rv.Len()
	ints := make([]int64, 0, n)
	allInt := true
	for i := range n {
		e := rv.Index(i).Interface()
		switch e.(type) {
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			x, err := toInt(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", i, err)
			}
			ints = append(ints, x)
		case json.Number:
			x, err := e.(json.Number).Int64()
			if err != nil {
				allInt = false
			}
			ints = append(ints, x)
		default:
			allInt = false
		}
		if !allInt {
			break
		}
	}
	if allInt {
		return &pb.Value{Kind: &pb.Value_IntList{IntList: &pb.IntList{Values: ints}}}, nil
	}
	floats := make([]float64, n)
	for i := range n {
		x, err := toFloat(rv.Index(i).Interface())
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", i, err)
		}
		floats[i] = x
	}
	return &pb.Value{Kind: &pb.Value_FloatList{FloatList: &pb.FloatList{Values: floats}}}, nil
}

func fromPBValue(v *pb.Value) any {
	switch k := v.GetKind().(type) {
	case *pb.Value_Int:
		return k.Int
	case *pb.Value_Float:
		return k.Float
	case *pb.Value_Str:
		return k.Str
	case *pb.Value_Bool:
		return k.Bool
	case *pb.Value_IntList:
		out := make([]int64, len(k.IntList.GetValues()))
		copy(out, k.IntList.GetValues())
		return out
	case *pb.Value_FloatList:
		out := make([]float64, len(k.FloatList.GetValues()))
		copy(out, k.FloatList.GetValues())
		return out
	}
	return nil
}

func toPBParams(m map[string]any) (map[string]*pb.Value, error) {
	out := make(map[string]*pb.Value, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := toPBValue(m[k])
		if err != nil {
			return nil, &ParamError{Param: k, Msg: err.Error()}
		}
		out[k] = v
	}
	return out, nil
}

func fromPBParams(m map[string]*pb.Value) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = fromPBValue(v)
	}
	return out
}

func toPBInfo(in Info) (*pb.DescribeResponse, error) {
	out := &pb.DescribeResponse{
		Name: in.Name, Version: in.Version, Doc: in.Doc,
		Capabilities: in.Capabilities,
	}
	for _, p := range in.Params {
		q := &pb.Param{Name: p.Name, Type: string(p.Type), Min: p.Min, Max: p.Max, Choices: p.Choices, Doc: p.Doc,
			MinLen: toInt32(p.MinLen), MaxLen: toInt32(p.MaxLen)}
		if p.Default != nil {
			d, err := toPBValue(p.Default)
			if err != nil {
				return nil, fmt.Errorf("parameter %q: default: %v", p.Name, err)
			}
			q.Default = d
		}
		out.Params = append(out.Params, q)
	}
	for _, m := range in.Metrics {
		out.Metrics = append(out.Metrics, &pb.MetricInfo{Name: m.Name, Doc: m.Doc, Goal: m.Goal})
	}
	return out, nil
}

func fromPBInfo(in *pb.DescribeResponse) Info {
	out := Info{
		Name: in.GetName(), Version: in.GetVersion(), Doc: in.GetDoc(),
		Capabilities: in.GetCapabilities(),
	}
	for _, q := range in.GetParams() {
		p := Param{Name: q.GetName(), Type: ParamType(q.GetType()), Min: q.Min, Max: q.Max, Choices: q.GetChoices(), Doc: q.GetDoc(),
			MinLen: fromInt32(q.MinLen), MaxLen: fromInt32(q.MaxLen)}
		if q.Default != nil {
			p.Default = fromPBValue(q.Default)
			// A float parameter whose default is integral may travel as an int.
			if p.Type == Float {
				if i, ok := p.Default.(int64); ok {
					p.Default = float64(i)
				}
			}
			if p.Type == FloatList {
				if l, ok := p.Default.([]int64); ok {
					f := make([]float64, len(l))
					for i, x := range l {
						f[i] = float64(x)
					}
					p.Default = f
				}
			}
		}
		out.Params = append(out.Params, p)
	}
	for _, m := range in.GetMetrics() {
		out.Metrics = append(out.Metrics, MetricInfo{Name: m.GetName(), Doc: m.GetDoc(), Goal: m.GetGoal()})
	}
	return out
}

func toPBTrainRequest(r TrainRequest) (*pb.TrainRequest, error) {
	params, err := toPBParams(r.Params)
	if err != nil {
		return nil, err
	}
	return &pb.TrainRequest{
		RunKey: r.RunKey, Params: params, Seed: r.Seed, Dataset: r.Dataset, DataDir: r.DataDir,
		Epochs: int32(r.Epochs), BatchSize: int32(r.BatchSize), TrainLimit: int32(r.TrainLimit),
		TestLimit: int32(r.TestLimit), Threads: int32(r.Threads), Keep: r.Keep,
		Data: toPBData(r.Data),
	}, nil
}

func fromPBTrainRequest(r *pb.TrainRequest) TrainRequest {
	return TrainRequest{
		RunKey: r.GetRunKey(), Params: fromPBParams(r.GetParams()), Seed: r.GetSeed(),
		Dataset: r.GetDataset(), DataDir: r.GetDataDir(), Epochs: int(r.GetEpochs()),
		BatchSize: int(r.GetBatchSize()), TrainLimit: int(r.GetTrainLimit()),
		TestLimit: int(r.GetTestLimit()), Threads: int(r.GetThreads()), Keep: r.GetKeep(),
		Data: fromPBData(r.GetData()),
	}
}

// chunks splits an artifact into wire chunks: the first carries the header,
// the last has Last set. An empty artifact is one chunk.
func chunks(a Artifact) []*pb.ArtifactChunk {
	var out []*pb.ArtifactChunk
	data := a.Data
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), chunkSize)
		c := &pb.ArtifactChunk{Data: data[:n]}
		data = data[n:]
		if first {
			c.Header = &pb.ArtifactHeader{
				Kind: a.Kind, Name: a.Name, Epoch: int32(a.Epoch), Format: a.Format,
				Meta: a.Meta, Size: int64(len(a.Data)),
			}
		}
		out = append(out, c)
	}
	out[len(out)-1].Last = true
	return out
}

// assembler rebuilds artifacts from a sequence of chunks.
type assembler struct {
	cur  *Artifact
	size int64
}

// add consumes one chunk and returns the artifact when it is complete.
func (a *assembler) add(c *pb.ArtifactChunk) (*Artifact, error) {
	if h := c.GetHeader(); h != nil {
		if a.cur != nil {
			return nil, fmt.Errorf("protocol error: artifact %q started before artifact %q ended", h.GetName(), a.cur.Name)
		}
		a.cur = &Artifact{Kind: h.GetKind(), Name: h.GetName(), Epoch: int(h.GetEpoch()), Format: h.GetFormat(), Meta: h.GetMeta()}
		a.size = h.GetSize()
		if a.size > 0 && a.size < 1<<34 {
			a.cur.Data = make([]byte, 0, a.size)
		}
	}
	if a.cur == nil {
		return nil, fmt.Errorf("protocol error: artifact chunk without a header")
	}
	a.cur.Data = append(a.cur.Data, c.GetData()...)
	if !c.GetLast() {
		return nil, nil
	}
	done := a.cur
	a.cur = nil
	if a.size > 0 && int64(len(done.Data)) != a.size {
		return nil, fmt.Errorf("protocol error: artifact %q has %d bytes, its header said %d", done.Name, len(done.Data), a.size)
	}
	if done.Data == nil {
		done.Data = []byte{}
	}
	return done, nil
}

// pending reports whether an artifact is half received.
func (a *assembler) pending() bool { return a.cur != nil }

func toInt32(n *int) *int32 {
	if n == nil {
		return nil
	}
	v := int32(*n)
	return &v
}

func fromInt32(n *int32) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}
