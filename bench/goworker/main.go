// bench/goworker - the Go peer the indexer is measured against (issue #15).
//
// The same job as the indexer, written the way a Go team would with the
// usual libraries: go-redis v9 reads a Redis Stream through a consumer group
// (XREADGROUP), each event becomes the same search document as the C
// indexer's sc_message_to_doc (a port of bench/py_worker.py's to_doc), and
// opensearch-go v4's opensearchutil.BulkIndexer writes them with external
// versions using --workers goroutines. An entry is acknowledged (XACK, in
// batches by one acker goroutine) only after its bulk item came back:
// written, 409 (an older version: done, as the indexer counts it) or another
// 4xx (dropped and counted; the indexer dead-letters it). A 429/5xx item or a
// failed request is added again after a short pause, so it stays pending in
// Redis until it is written.
//
// The BulkIndexer flushes by size and interval, not by count: --flush-bytes
// is set by bench/run.sh to the bytes of --batch-count of these documents
// (measured by bulk-ceiling), so its requests carry as many documents as
// the indexer's.
//
// Simplifications in the peer's favour: one fixed --index (no binding
// lookups), no dead-letter stream, no reclaiming of other consumers'
// entries. It exits after --idle-exit seconds without new entries, or on
// SIGTERM.
//
// Not here: timing (bench/measure.py watches the stream from outside).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/opensearchutil"
	"github.com/redis/go-redis/v9"
)

const epochMs = 1420070400000

var urlRe = regexp.MustCompile(`(?i)https?://([^/\s?#<>"']+)`)

type attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
}

type embed struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	Provider string `json:"provider"`
}

type message struct {
	ID              string       `json:"id"`
	ChannelID       string       `json:"channel_id"`
	GuildID         string       `json:"guild_id"`
	AuthorID        string       `json:"author_id"`
	AuthorType      string       `json:"author_type"`
	Content         string       `json:"content"`
	Mentions        []string     `json:"mentions"`
	MentionEveryone bool         `json:"mention_everyone"`
	Pinned          bool         `json:"pinned"`
	Attachments     []attachment `json:"attachments"`
	Embeds          []embed      `json:"embeds"`
	StickerIDs      []string     `json:"sticker_ids"`
}

type event struct {
	Op      string      `json:"op"`
	Version json.Number `json:"version"`
	Message message     `json:"message"`
}

// The search document of a create/edit (field names and order as
// sc_message_to_doc, without its digest field).
type doc struct {
	ID                   uint64   `json:"id"`
	ChannelID            uint64   `json:"channel_id"`
	GuildID              *uint64  `json:"guild_id,omitempty"`
	AuthorID             uint64   `json:"author_id"`
	AuthorType           string   `json:"author_type"`
	Timestamp            uint64   `json:"timestamp"`
	Content              string   `json:"content"`
	Mentions             []uint64 `json:"mentions"`
	MentionEveryone      bool     `json:"mention_everyone"`
	Has                  []string `json:"has"`
	Pinned               bool     `json:"pinned"`
	LinkHostnames        []string `json:"link_hostnames"`
	AttachmentFilenames  []string `json:"attachment_filenames,omitempty"`
	AttachmentExtensions []string `json:"attachment_extensions,omitempty"`
	EmbedTypes           []string `json:"embed_types,omitempty"`
	EmbedProviders       []string `json:"embed_providers,omitempty"`
	Version              int64    `json:"version"`
	Deleted              bool     `json:"deleted"`
}

// The tombstone of a delete.
type tombstone struct {
	ID        uint64  `json:"id"`
	ChannelID uint64  `json:"channel_id"`
	GuildID   *uint64 `json:"guild_id,omitempty"`
	Timestamp uint64  `json:"timestamp"`
	Version   int64   `json:"version"`
	Deleted   bool    `json:"deleted"`
}

func u64(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func hostnames(urls []string) []string {
	var out []string
	for _, u := range urls {
		m := urlRe.FindStringSubmatch(u)
		if m == nil || !strings.HasPrefix(strings.ToLower(u), strings.ToLower(m[0][:4])) {
			continue
		}
		h := m[1]
		if i := strings.LastIndexByte(h, '@'); i >= 0 {
			h = h[i+1:]
		}
		if i := strings.IndexByte(h, ':'); i >= 0 {
			h = h[:i]
		}
		h = strings.TrimRight(strings.ToLower(h), ".")
		if h == "" {
			continue
		}
		var cands []string
		if allDigits(strings.ReplaceAll(h, ".", "")) {
			cands = []string{h}
		} else {
			parts := strings.Split(h, ".")
			n := len(parts) - 1
			if n < 1 {
				n = 1
			}
			for i := 0; i < n; i++ {
				cands = append(cands, strings.Join(parts[i:], "."))
			}
		}
		for _, c := range cands {
			if !contains(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) > 32 {
		out = out[:32]
	}
	return out
}

var img = map[string]bool{"png": true, "jpg": true, "jpeg": true, "gif": true, "webp": true}
var vid = map[string]bool{"mp4": true, "webm": true, "mov": true, "mkv": true}
var snd = map[string]bool{"mp3": true, "ogg": true, "wav": true, "flac": true, "m4a": true}

// toDoc builds the document of one event: (id, version, JSON).
func toDoc(payload []byte) (string, int64, []byte, error) {
	var ev event
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return "", 0, nil, err
	}
	m := &ev.Message
	id, err := u64(m.ID)
	if err != nil {
		return "", 0, nil, fmt.Errorf("bad message id %q", m.ID)
	}
	ch, err := u64(m.ChannelID)
	if err != nil {
		return "", 0, nil, fmt.Errorf("bad channel id %q", m.ChannelID)
	}
	version, err := ev.Version.Int64()
	if err != nil {
		return "", 0, nil, fmt.Errorf("bad version")
	}
	var guild *uint64
	if g, err := u64(m.GuildID); err == nil && m.GuildID != "" {
		guild = &g
	}
	ts := (id >> 22) + epochMs
	if ev.Op == "delete" {
		b, err := json.Marshal(&tombstone{ID: id, ChannelID: ch, GuildID: guild, Timestamp: ts,
			Version: version, Deleted: true})
		return m.ID, version, b, err
	}
	author, _ := u64(m.AuthorID)
	d := doc{ID: id, ChannelID: ch, GuildID: guild, AuthorID: author, Timestamp: ts, Version: version}
	has := []string{}
	var links []string
	for _, mm := range urlRe.FindAllString(m.Content, -1) {
		links = append(links, mm)
	}
	for _, e := range m.Embeds {
		if e.URL != "" {
			links = append(links, e.URL)
		}
	}
	if len(links) > 0 {
		has = append(has, "link")
	}
	if len(m.Embeds) > 0 {
		has = append(has, "embed")
	}
	if len(m.Attachments) > 0 {
		has = append(has, "file")
	}
	exts := []string{}
	names := []string{}
	for _, a := range m.Attachments {
		names = append(names, a.Filename)
		ext := ""
		if i := strings.LastIndexByte(a.Filename, '.'); i >= 0 {
			ext = strings.ToLower(a.Filename[i+1:])
		}
		if ext != "" && !contains(exts, ext) {
			exts = append(exts, ext)
		}
		kind := ""
		ct := a.ContentType
		switch {
		case ct != "":
			if strings.HasPrefix(ct, "image/") {
				kind = "image"
			} else if strings.HasPrefix(ct, "video/") {
				kind = "video"
			} else if strings.HasPrefix(ct, "audio/") {
				kind = "sound"
			}
		case img[ext]:
			kind = "image"
		case vid[ext]:
			kind = "video"
		case snd[ext]:
			kind = "sound"
		}
		if kind != "" && !contains(has, kind) {
			has = append(has, kind)
		}
	}
	if len(m.StickerIDs) > 0 {
		has = append(has, "sticker")
	}
	mentions := []uint64{}
	for _, s := range m.Mentions {
		if v, err := u64(s); err == nil {
			mentions = append(mentions, v)
		}
	}
	var etypes, eprov []string
	for _, e := range m.Embeds {
		if e.Type != "" {
			etypes = append(etypes, e.Type)
		}
		if e.Provider != "" {
			eprov = append(eprov, e.Provider)
		}
	}
	at := m.AuthorType
	if at == "" {
		at = "user"
	}
	d.AuthorType, d.Content, d.Mentions = at, m.Content, mentions
	d.MentionEveryone, d.Pinned = m.MentionEveryone, m.Pinned
	d.Has, d.LinkHostnames, d.AttachmentFilenames, d.AttachmentExtensions = has, hostnames(links), names, exts
	if d.LinkHostnames == nil {
		d.LinkHostnames = []string{}
	}
	d.EmbedTypes, d.EmbedProviders = etypes, eprov
	b, err := json.Marshal(&d)
	return m.ID, version, b, err
}

type stats struct{ read, ok, conflict, rejected, retried, bad atomic.Int64 }

func main() {
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis host:port")
	stream := flag.String("stream", "", "stream key")
	group := flag.String("group", "goworkers", "consumer group")
	consumer := flag.String("consumer", "go-1", "consumer name")
	esURL := flag.String("es-url", "", "OpenSearch base URL")
	index := flag.String("index", "", "target index")
	workers := flag.Int("workers", 4, "bulk goroutines (NumWorkers)")
	batch := flag.Int("batch-count", 500, "entries per XREADGROUP")
	flushBytes := flag.Int("flush-bytes", 0, "BulkIndexer FlushBytes (0: 1 KiB x batch-count)")
	idleExit := flag.Duration("idle-exit", 30*time.Second, "exit after this long without new entries")
	flag.Parse()
	if *stream == "" || *esURL == "" || *index == "" {
		fmt.Fprintln(os.Stderr, "usage: goworker --redis HOST:PORT --stream S --es-url URL --index I [--workers N --batch-count N --flush-bytes B]")
		os.Exit(2)
	}
	if *flushBytes <= 0 {
		*flushBytes = 1024 * *batch
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: 4})
	if err := rdb.XGroupCreateMkStream(ctx, *stream, *group, "0").Err(); err != nil &&
		!strings.Contains(err.Error(), "BUSYGROUP") {
		fmt.Fprintln(os.Stderr, "goworker: group:", err)
		os.Exit(1)
	}
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses: []string{*esURL},
		Transport: &http.Transport{MaxIdleConnsPerHost: *workers * 2},
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "goworker: client:", err)
		os.Exit(1)
	}
	var st stats
	acks := make(chan string, 65536)
	var ackWG sync.WaitGroup
	ackWG.Add(1)
	go func() { // one acker: XACK in batches of up to 1,000 ids or every 20 ms
		defer ackWG.Done()
		buf := make([]string, 0, 1000)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		flush := func() {
			if len(buf) == 0 {
				return
			}
			if err := rdb.XAck(context.Background(), *stream, *group, buf...).Err(); err != nil {
				fmt.Fprintln(os.Stderr, "goworker: xack:", err)
			}
			buf = buf[:0]
		}
		for {
			select {
			case id, ok := <-acks:
				if !ok {
					flush()
					return
				}
				buf = append(buf, id)
				if len(buf) >= 1000 {
					flush()
				}
			case <-tick.C:
				flush()
			}
		}
	}()

	bi, err := opensearchutil.NewBulkIndexer(opensearchutil.BulkIndexerConfig{
		Client: client, Index: *index, NumWorkers: *workers, FlushBytes: *flushBytes,
		FlushInterval: 200 * time.Millisecond,
		OnError:       func(_ context.Context, err error) { fmt.Fprintln(os.Stderr, "goworker: bulk:", err) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "goworker: bulk indexer:", err)
		os.Exit(1)
	}
	var add func(eid, id string, version int64, body []byte)
	add = func(eid, id string, version int64, body []byte) {
		vt := "external"
		err := bi.Add(context.Background(), opensearchutil.BulkIndexerItem{
			Action: "index", DocumentID: id, Version: &version, VersionType: &vt,
			Body: bytes.NewReader(body),
			OnSuccess: func(context.Context, opensearchutil.BulkIndexerItem, opensearchapi.BulkRespItem) {
				st.ok.Add(1)
				acks <- eid
			},
			OnFailure: func(_ context.Context, _ opensearchutil.BulkIndexerItem, r opensearchapi.BulkRespItem, err error) {
				switch {
				case err == nil && r.Status == 409:
					st.conflict.Add(1)
					acks <- eid
				case err == nil && r.Status >= 400 && r.Status < 500 && r.Status != 429:
					st.rejected.Add(1) // permanent: dropped, as the indexer dead-letters it
					acks <- eid
				default: // 429, 5xx, a failed request: stays pending, sent again
					if st.retried.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "goworker: write failed (retried): %d %v\n", r.Status, err)
					}
					go func() { time.Sleep(100 * time.Millisecond); add(eid, id, version, body) }()
				}
			},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "goworker: add:", err)
		}
	}

	idleSince := time.Now()
	for ctx.Err() == nil {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: *group, Consumer: *consumer,
			Streams: []string{*stream, ">"}, Count: int64(*batch), Block: 500 * time.Millisecond}).Result()
		if err == redis.Nil || (err == nil && len(res) == 0) {
			if time.Since(idleSince) > *idleExit {
				break
			}
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "goworker: xreadgroup:", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		idleSince = time.Now()
		for _, s := range res {
			for _, m := range s.Messages {
				st.read.Add(1)
				payload, _ := m.Values["e"].(string)
				id, version, body, err := toDoc([]byte(payload))
				if err != nil { // a bad event: dropped (the indexer dead-letters it)
					st.bad.Add(1)
					acks <- m.ID
					continue
				}
				add(m.ID, id, version, body)
			}
		}
	}
	if ctx.Err() == nil {
		if err := bi.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "goworker: close:", err)
		}
		close(acks)
		ackWG.Wait()
	}
	fmt.Fprintf(os.Stderr, "goworker: {\"read\": %d, \"ok\": %d, \"conflict\": %d, \"rejected\": %d, \"retried\": %d, \"bad\": %d}\n",
		st.read.Load(), st.ok.Load(), st.conflict.Load(), st.rejected.Load(), st.retried.Load(), st.bad.Load())
}
