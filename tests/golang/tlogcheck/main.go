// Command tlogcheck checks a running Tūtahi service with the Go team's own transparency
// log packages (golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog), which
// nobody on this project wrote:
//
//   - it opens the signed checkpoint at <base>/log/checkpoint with the log's verifier
//     key (and, if given, requires a valid cosignature from each -witness key);
//   - it reads the tree through tlog.TileHashReader from <base>/log/tile/..., which
//     checks every tile it reads against the checkpoint's root;
//   - for random entries it reads their entry bundle (with an auditor's -token), checks
//     each entry hashes to its leaf, and proves and checks the entry's inclusion
//     (tlog.ProveRecord, CheckRecord);
//   - given -old (a checkpoint note saved earlier), it proves and checks that the
//     current tree extends it (tlog.ProveTree, CheckTree).
//
// It prints one line per check and exits non-zero on the first failure. Built in GOPATH
// mode against Debian's golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=$PWD/.gopath:/usr/share/gocode go build -o tlogcheck tests/golang/tlogcheck/main.go
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type witnessFlags []string

func (w *witnessFlags) String() string     { return strings.Join(*w, ",") }
func (w *witnessFlags) Set(v string) error { *w = append(*w, v); return nil }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

var client = &http.Client{Timeout: 30 * time.Second}

// token is an auditor's bearer token: entry bundles hold every event, partners-only
// commitments' included, so the service serves them to auditors and admins only.
var token string

func get(url string) []byte {
	request, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	if token != "" && strings.Contains(url, "/tile/entries/") {
		request.Header.Set("Authorization", "Bearer "+token)
	}
	response, err := client.Do(request)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	if response.StatusCode != http.StatusOK {
		fail("GET %s: %s", url, response.Status)
	}
	return body
}

// cosignatureVerifier checks a C2SP tlog-cosignature/v1 (type 0x04) cosignature, which
// the note package does not know: the signature is an 8-byte big-endian time, then an
// Ed25519 signature of "cosignature/v1\ntime <time>\n" followed by the note's text.
type cosignatureVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

func newCosignatureVerifier(vkey string) (*cosignatureVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed witness verifier key")
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 {
		return nil, errors.New("malformed witness key hash")
	}
	material, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(material) != 1+ed25519.PublicKeySize || material[0] != 0x04 {
		return nil, errors.New("not a type 0x04 Ed25519 cosignature key")
	}
	digest := sha256.Sum256(append([]byte(parts[0]+"\n"), material...))
	if binary.BigEndian.Uint32(digest[:4]) != uint32(hash) {
		return nil, errors.New("witness key hash does not match")
	}
	return &cosignatureVerifier{parts[0], uint32(hash), ed25519.PublicKey(material[1:])}, nil
}

// openCheckpoint opens a checkpoint note and returns its origin and tree.
func openCheckpoint(msg []byte, verifiers note.Verifiers) (*note.Note, string, tlog.Tree) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		fail("the checkpoint note does not open with the given keys: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("the checkpoint has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		fail("the checkpoint's tree size %q is malformed", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("the checkpoint's root hash %q is malformed", lines[2])
	}
	return n, lines[0], tlog.Tree{N: size, Hash: root}
}

// tileReader fetches C2SP tiles: Go's tile paths are "tile/<H>/<L>/<N>[.p/<W>]";
// C2SP's have no height (it is always 8) and live under the log's prefix.
type tileReader struct{ base string }

func (r *tileReader) Height() int { return height }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != height {
			return nil, fmt.Errorf("unexpected tile height %d", t.H)
		}
		data[i] = get(r.base + "/log/tile/" + strings.TrimPrefix(t.Path(), "tile/8/"))
	}
	return data, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// bundle reads the entry bundle holding entry index in a tree of size n.
func bundle(base string, index, n int64) [][]byte {
	t := tlog.Tile{H: height, L: 0, N: index >> height, W: 1 << height}
	if rest := n - t.N<<height; rest < 1<<height {
		t.W = int(rest)
	}
	path := strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
	data := get(base + "/log/" + path)
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			fail("entry bundle %s ends inside a length", path)
		}
		size := int(binary.BigEndian.Uint16(data[:2]))
		if len(data) < 2+size {
			fail("entry bundle %s ends inside an entry", path)
		}
		entries = append(entries, data[2:2+size])
		data = data[2+size:]
	}
	if len(entries) != t.W {
		fail("entry bundle %s holds %d entries, not %d", path, len(entries), t.W)
	}
	return entries
}

func main() {
	base := flag.String("url", "", "the service's base URL, e.g. http://127.0.0.1:8000")
	vkey := flag.String("vkey", "", "the log's signed-note verifier key (note_verifier_key)")
	old := flag.String("old", "", "a checkpoint note saved earlier, to prove the log extends it")
	samples := flag.Int("samples", 20, "random entries to prove")
	seed := flag.Int64("seed", 1, "random seed")
	flag.StringVar(&token, "token", "", "an auditor's token, for the entry bundles")
	var witnesses witnessFlags
	flag.Var(&witnesses, "witness", "a witness's cosignature verifier key that must have cosigned (repeatable)")
	flag.Parse()
	if *base == "" || *vkey == "" {
		fail("usage: tlogcheck -url BASE -vkey VKEY -token AUDITOR_TOKEN [-old FILE] [-witness VKEY ...]")
	}

	logVerifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("the log's verifier key: %v", err)
	}
	verifiers := []note.Verifier{logVerifier}
	for _, w := range witnesses {
		v, err := newCosignatureVerifier(w)
		if err != nil {
			fail("witness key %s: %v", w, err)
		}
		verifiers = append(verifiers, v)
	}
	known := note.VerifierList(verifiers...)

	// 1. The checkpoint, opened with the log's key; each witness must have cosigned it.
	n, origin, tree := openCheckpoint(get(*base+"/log/checkpoint"), known)
	signedBy := map[string]bool{}
	for _, s := range n.Sigs {
		signedBy[s.Name] = true
	}
	if !signedBy[logVerifier.Name()] {
		fail("the checkpoint is not signed by the log's key")
	}
	if origin != logVerifier.Name() {
		fail("the checkpoint's origin %q is not the key's name %q", origin, logVerifier.Name())
	}
	for _, v := range verifiers[1:] {
		if !signedBy[v.Name()] {
			fail("the checkpoint carries no valid cosignature by witness %s", v.Name())
		}
	}
	fmt.Printf("checkpoint: origin %s, size %d, root %s, %d valid signature(s)\n", origin, tree.N, tree.Hash, len(n.Sigs))
	if tree.N == 0 {
		fail("the log is empty: nothing to check")
	}

	// 2. The tree through tiles: TileHashReader checks every tile it reads against the root.
	reader := tlog.TileHashReader(tree, &tileReader{*base})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil || root != tree.Hash {
		fail("the tiles do not make the checkpoint's root: %v", err)
	}
	fmt.Printf("tiles: the root of %d leaves recomputed from tiles matches\n", tree.N)

	// 3. Random entries: bundle bytes hash to the leaves, and inclusion proofs check.
	random := rand.New(rand.NewSource(*seed))
	indexes := []int64{0, tree.N - 1}
	for i := 0; i < *samples; i++ {
		indexes = append(indexes, random.Int63n(tree.N))
	}
	for _, index := range indexes {
		entries := bundle(*base, index, tree.N)
		first := index >> height << height
		leaves, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil {
			fail("leaf %d: %v", index, err)
		}
		entry := entries[index-first]
		if tlog.RecordHash(entry) != leaves[0] {
			fail("entry %d in its bundle does not hash to its leaf", index)
		}
		if !bytes.Contains(entry, []byte(fmt.Sprintf("\"position\":%d,", index))) {
			fail("entry %d does not state its own position", index)
		}
		proof, err := tlog.ProveRecord(tree.N, index, reader)
		if err != nil {
			fail("proving entry %d: %v", index, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(entry)); err != nil {
			fail("entry %d: inclusion proof does not check: %v", index, err)
		}
	}
	fmt.Printf("entries: %d entries hash to their leaves and are proved included\n", len(indexes))

	// 4. Consistency with an older checkpoint.
	if *old != "" {
		saved, err := os.ReadFile(*old)
		if err != nil {
			fail("reading %s: %v", *old, err)
		}
		_, oldOrigin, oldTree := openCheckpoint(saved, known)
		if oldOrigin != origin {
			fail("the old checkpoint is of another log (%s)", oldOrigin)
		}
		if oldTree.N > tree.N {
			fail("the old checkpoint (size %d) is larger than the current one (%d)", oldTree.N, tree.N)
		}
		proof, err := tlog.ProveTree(tree.N, oldTree.N, reader)
		if err != nil {
			fail("proving consistency from %d: %v", oldTree.N, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, oldTree.N, oldTree.Hash); err != nil {
			fail("the log does not extend the old checkpoint: %v", err)
		}
		fmt.Printf("consistency: the tree of %d leaves extends the old checkpoint of %d\n", tree.N, oldTree.N)
	}
	fmt.Println("OK")
}
