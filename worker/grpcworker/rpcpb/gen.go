// Package rpcpb is the generated Go code of the Azure Functions
// language-worker protocol (FunctionRpc), from the definitions in proto/.
//
// Regenerate with "go generate ./worker/grpcworker/rpcpb". The
// tools come from the Go module proxy at the versions the modules pin:
// protoc-gen-go and protoc-gen-go-grpc are tool directives of funcd's
// go.mod, and buf (which compiles the .proto files itself, so no protoc is
// needed) is the tool of tools/buf/go.mod.
package rpcpb

//go:generate go tool -modfile=../../../tools/buf/go.mod buf generate
