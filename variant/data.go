package variant

import (
	"fmt"
	"path/filepath"

	"github.com/aexp/aexp/dataset"
	"github.com/aexp/aexp/variant/internal/pb"
)

// resolveData fills a request's data contract (and, for MNIST, its data
// folder) on the host, where the files are, unless the caller set it. A
// request without a dataset (toy plugins in tests) gets none.
func resolveData(name, dataDir string, trainLimit, testLimit int) (*dataset.Contract, string, error) {
	if name == "" {
		return nil, dataDir, nil
	}
	c, err := dataset.Resolve(name, dataDir, trainLimit, testLimit)
	if err != nil {
		return nil, dataDir, fmt.Errorf("%w: %w", ErrData, err)
	}
	if name == "mnist" && dataDir == "" {
		dataDir = filepath.Dir(c.TrainFile)
	}
	return c, dataDir, nil
}

func toPBData(c *dataset.Contract) *pb.DataSplit {
	if c == nil {
		return nil
	}
	return &pb.DataSplit{
		TrainFile: c.TrainFile, TrainLabelsFile: c.TrainLabels, TestFile: c.TestFile, TestLabelsFile: c.TestLabels,
		Pool: toU32(c.Pool), ValOrder: toU32(c.ValOrder), Test: toU32(c.Test),
	}
}

func fromPBData(d *pb.DataSplit) *dataset.Contract {
	if d == nil {
		return nil
	}
	return &dataset.Contract{
		TrainFile: d.GetTrainFile(), TrainLabels: d.GetTrainLabelsFile(), TestFile: d.GetTestFile(), TestLabels: d.GetTestLabelsFile(),
		Pool: fromU32(d.GetPool()), ValOrder: fromU32(d.GetValOrder()), Test: fromU32(d.GetTest()),
	}
}

func toU32(s []int) []uint32 {
	out := make([]uint32, len(s))
	for i, v := range s {
		out[i] = uint32(v)
	}
	return out
}

func fromU32(s []uint32) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}
