package scim

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/roster-dev/roster/store"
)

// Streamed answers. A group answer carries every member of the group, and a
// group list every member of up to 1,000 groups: built whole, one request
// for ten groups of 75,000 members held about 900 MB. So these answers are
// written as they are read: the groups of a page are read without members,
// each group's members are read from the store a chunk at a time
// (store.Store.GroupMembers, DefaultMemberChunk members) and encoded into a
// buffer that goes out whenever it holds streamFlushAt bytes. A request
// holds one chunk and one buffer, whatever the size of its groups. The
// bytes are those the whole answer would have had (TestGroupStream_*).
//
// Status and headers (ETag, Location) are decided before the body — the
// version of a group is the one read with its attributes — and go out with
// the first piece. A store failure before that is answered as any other
// error. After it, 200 is on the wire and no error can be told any more:
// the connection is aborted (the client sees a cut answer, never a short
// list that parses) and the failure is logged.

// DefaultMemberChunk is how many members a streamed answer reads from the
// store at a time.
const DefaultMemberChunk = 2000

// streamFlushAt is the size at which a streamed answer's buffer is written.
const streamFlushAt = 32 << 10

// bodyStreamer is a result body that writes itself piece by piece.
type bodyStreamer interface {
	stream(s *streamer) error
}

// streamer buffers a streamed answer and writes it in pieces.
type streamer struct {
	w       http.ResponseWriter
	buf     []byte
	head    func() // sends the status and the headers
	started bool
	sent    int
	gone    error // a failed write: the client went away
}

// errClientGone wraps a failed write of a streamed answer.
type errClientGone struct{ err error }

func (e errClientGone) Error() string { return "client went away: " + e.err.Error() }

// flush writes the buffer once it holds streamFlushAt bytes, or whatever
// it holds when force is set.
func (s *streamer) flush(force bool) error {
	if s.gone != nil {
		return s.gone
	}
	if len(s.buf) < streamFlushAt && !force {
		return nil
	}
	if !s.started {
		s.head()
		s.started = true
	}
	n, err := s.w.Write(s.buf)
	s.sent += n
	s.buf = s.buf[:0]
	if err != nil {
		s.gone = errClientGone{err}
	}
	return s.gone
}

// writeStream writes a streamed result (see above for what a failure does).
func (h *handler) writeStream(w http.ResponseWriter, c *call, jsonOnly bool, res result, body bodyStreamer) {
	bp := bufPool.Get().(*[]byte)
	s := &streamer{w: w, buf: (*bp)[:0], head: func() {
		setResultHeaders(w, jsonOnly, res)
		w.WriteHeader(res.status)
	}}
	err := body.stream(s)
	if err == nil {
		s.buf = append(s.buf, '\n')
		err = s.flush(true)
	}
	*bp = s.buf[:0]
	putBuf(bp)
	var gone errClientGone
	switch {
	case err == nil:
	case errors.As(err, &gone):
		c.log.Info().Int("bytes_sent", s.sent).Err(gone.err).Msg("scim: client went away during a streamed answer")
	case !s.started:
		h.writeFailure(w, c, jsonOnly, err, c.rest)
	default:
		c.log.Error().Int("bytes_sent", s.sent).Err(err).
			Msg("scim: store read failed after the answer had begun; connection aborted")
		panic(http.ErrAbortHandler)
	}
}

// memberReader reads a group's members a chunk at a time.
type memberReader struct {
	h     *handler
	c     *call
	group string
	pos   store.MemberPos
	chunk []store.Member
	done  bool
}

// next reads the next chunk; an empty one ends the group.
func (r *memberReader) next() ([]store.Member, error) {
	if r.done {
		return nil, nil
	}
	chunk, pos, err := r.h.st.GroupMembers(r.c.ctx, r.c.tenant, r.group, r.pos, r.h.chunk)
	if err != nil {
		return nil, err
	}
	r.pos, r.done = pos, len(chunk) < r.h.chunk
	return chunk, nil
}

// streamGroup writes one group; with members, its members are read in
// chunks as they are written. g.Members is not used.
func (h *handler) streamGroup(s *streamer, c *call, g *store.Group, proj projection, members bool) error {
	shell := *g
	shell.Members = nil
	v := h.groupView(c.base, &shell)
	if !members {
		s.buf = appendAny(s.buf, proj.apply(v))
		return s.flush(false)
	}
	// The first chunk is read before anything of the group is written: a
	// group without members has no "members" key at all.
	r := &memberReader{h: h, c: c, group: g.ID}
	first, err := r.next()
	if err != nil {
		return err
	}
	if len(first) == 0 {
		s.buf = appendAny(s.buf, proj.apply(v))
		return s.flush(false)
	}
	if proj.empty() || proj.onlyUnloaded() {
		// groupOut.appendJSON with the members written as they come.
		b := append(s.buf, '{')
		b = appendStrings(field(b, "schemas"), v.Schemas)
		b = strField(b, "id", v.ID)
		b = optStr(b, "externalId", v.ExternalID)
		b = strField(b, "displayName", v.DisplayName)
		s.buf = append(field(b, "members"), '[')
		if err := h.streamMembers(s, c, r, first, nil); err != nil {
			return err
		}
		b = append(s.buf, ']')
		b = v.Meta.appendJSON(field(b, "meta"))
		s.buf = append(b, '}')
		return s.flush(false)
	}
	// A projection renders the group as encoding/json renders the map that
	// projection.apply makes: keys sorted, members where "members" sorts.
	m, ok := proj.apply(v).(map[string]any)
	keep, sub := proj.keep("", "members")
	if !ok || !keep {
		s.buf = appendAny(s.buf, proj.apply(v))
		return s.flush(false)
	}
	keys := make([]string, 0, len(m)+1)
	for k := range m {
		keys = append(keys, k)
	}
	keys = append(keys, "members")
	slices.Sort(keys)
	s.buf = append(s.buf, '{')
	for i, k := range keys {
		if i > 0 {
			s.buf = append(s.buf, ',')
		}
		s.buf = append(appendString(s.buf, k), ':')
		if k != "members" {
			s.buf = appendMarshal(s.buf, m[k])
			continue
		}
		s.buf = append(s.buf, '[')
		if sub == nil {
			sub = identity // the members go through the map form too
		}
		if err := h.streamMembers(s, c, r, first, sub); err != nil {
			return err
		}
		s.buf = append(s.buf, ']')
	}
	s.buf = append(s.buf, '}')
	return s.flush(false)
}

// streamMembers writes the members, first and then the chunks r reads,
// comma-separated: as groupOut.appendJSON writes them when sub is nil, else
// as encoding/json writes the map projection.apply makes of each, which sub
// projects.
func (h *handler) streamMembers(s *streamer, c *call, r *memberReader, first []store.Member, sub func(any) any) error {
	chunk, n := first, 0
	for len(chunk) > 0 {
		for i := range chunk {
			if n > 0 {
				s.buf = append(s.buf, ',')
			}
			n++
			ref := refOut{Value: chunk[i].UserID, Ref: c.base + "/Users/" + chunk[i].UserID, Display: chunk[i].Display, Type: "User"}
			if sub == nil {
				s.buf = ref.appendJSON(s.buf)
			} else {
				s.buf = appendMarshal(s.buf, sub(refMap(&ref)))
			}
			if err := s.flush(false); err != nil {
				return err
			}
		}
		var err error
		if chunk, err = r.next(); err != nil {
			return err
		}
	}
	return nil
}

func identity(v any) any { return v }

// refMap is a member reference as projection.apply sees it: the JSON
// object decoded into a map (empty optional values absent).
func refMap(r *refOut) map[string]any {
	m := map[string]any{"value": r.Value}
	for k, v := range map[string]string{"$ref": r.Ref, "display": r.Display, "type": r.Type} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// groupBody is a streamed group answer.
type groupBody struct {
	h       *handler
	c       *call
	g       store.Group
	proj    projection
	members bool
}

func (b *groupBody) stream(s *streamer) error {
	return b.h.streamGroup(s, b.c, &b.g, b.proj, b.members)
}

// groupListBody is a streamed ListResponse: resources rendered already
// (the users of a search across types) and then groups, each streamed.
type groupListBody struct {
	h       *handler
	c       *call
	total   int
	start   int
	before  []any
	groups  []store.Group
	proj    projection
	members bool
}

func (b *groupListBody) stream(s *streamer) error {
	buf := append(s.buf, '{')
	buf = appendStrings(field(buf, "schemas"), schemasList)
	buf = strconv.AppendInt(field(buf, "totalResults"), int64(b.total), 10)
	buf = strconv.AppendInt(field(buf, "itemsPerPage"), int64(len(b.before)+len(b.groups)), 10)
	buf = strconv.AppendInt(field(buf, "startIndex"), int64(b.start), 10)
	s.buf = append(field(buf, "Resources"), '[')
	n := 0
	for _, r := range b.before {
		if n > 0 {
			s.buf = append(s.buf, ',')
		}
		n++
		s.buf = appendAny(s.buf, r)
		if err := s.flush(false); err != nil {
			return err
		}
	}
	for i := range b.groups {
		if n > 0 {
			s.buf = append(s.buf, ',')
		}
		n++
		if err := b.h.streamGroup(s, b.c, &b.groups[i], b.proj, b.members); err != nil {
			return err
		}
	}
	s.buf = append(s.buf, ']', '}')
	return nil
}
