package worker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strconv"
)

// Level returns the level the Functions host logs a line of worker output at
// when the worker writes errors only to stderr (as custom handlers do):
// stdout at Info; stderr at Warn if the line contains "warn" in any case,
// otherwise at Error.
func Level(s Stream, line string) slog.Level {
	if s == Stdout {
		return slog.LevelInfo
	}
	if containsFold(line, "warn") {
		return slog.LevelWarn
	}
	return slog.LevelError
}

// containsFold reports whether s contains the lower-case ASCII word sub in
// any case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && s[i+j]|0x20 == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// readLines calls deliver for every non-empty line read from r until r
// fails (at EOF, or when it is closed). A line longer than MaxLineBytes is
// cut there; the rest, up to its end, is skipped.
func readLines(r io.Reader, deliver func(string)) {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line := string(chunk)
			skipped, _ := skipLine(br)
			deliver(line + " [line truncated: " + strconv.Itoa(skipped) + " more bytes]")
			continue
		}
		if line := trimEOL(chunk); len(line) > 0 {
			deliver(string(line))
		}
		if err != nil {
			return
		}
	}
}

// skipLine discards input up to and including the next newline and returns
// how many bytes it dropped before it.
func skipLine(br *bufio.Reader) (int, error) {
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(trimEOL(chunk))
		if !errors.Is(err, bufio.ErrBufferFull) {
			return n, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
