package nn

// Opcodes of every recorded op; backwardFns maps them to backward passes.
const (
	opMatMul opcode = iota
	opAffine
	opAddBias
	opAdd
	opSub
	opMul
	opScale
	opAddScalar
	opAct
	opExp
	opLog
	opSquare
	opSum
	opSumAxis
	opSlice
	opConcat
	opMask // y = x ⊙ buf (dropout)
	opMSE
	opBCELogits
	opKL
	opReparam
	opGRU
	opLSTM
	numOps
)
