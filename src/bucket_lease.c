/*
 * Leases on tokens of a shared bucket: see bucket_lease.h.
 */
#include <pthread.h>
#include <string.h>

#include "bucket_lease.h"

/* A lease holds at most a thousandth of the bucket's count. */
#define LEASE_SHARE 1000

struct lease {
	char key[16]; /* "" = free */
	int held;     /* tokens the node may spend until held_until */
	int64_t held_until;
	int64_t window;       /* start of the window `seen` counts */
	int seen, seen_last;  /* requests in it, and in the one before */
	int64_t single_until; /* one token a request until then */
	int64_t taking_until; /* a batch is being taken (until its answer) */
};

static struct {
	pthread_mutex_t mu;
	int cap;
	struct lease slots[BUCKET_LEASE_SLOTS];
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .cap = 1};

void bucket_lease_init(int count)
{
	pthread_mutex_lock(&L.mu);
	memset(L.slots, 0, sizeof(L.slots));
	L.cap = count / LEASE_SHARE > 1 ? count / LEASE_SHARE : 1;
	pthread_mutex_unlock(&L.mu);
}

/*
 * FNV-1a.  Keys that share a slot lose only their batches, never a limit,
 * so the hash need not stand up to keys chosen to collide.
 */
static struct lease *slot_for(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &L.slots[h % BUCKET_LEASE_SLOTS];
}

/*
 * key's lease, or NULL without one.  claim: a slot another key holds is
 * taken over once it is idle (nothing held, nothing seen in two windows).
 */
static struct lease *lease_of(const char *key, int claim, int64_t now_ms)
{
	struct lease *s = slot_for(key);

	if (strncmp(s->key, key, sizeof(s->key)) == 0)
		return s;
	if (!claim || strlen(key) >= sizeof(s->key))
		return NULL;
	if (s->key[0] && (s->held_until > now_ms ||
			  s->window + 2LL * BUCKET_LEASE_MS > now_ms))
		return NULL;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, strlen(key) + 1);
	return s;
}

/* Moves `seen` to the window now_ms is in. */
static void lease_roll(struct lease *s, int64_t now_ms)
{
	int64_t window = now_ms - now_ms % BUCKET_LEASE_MS;

	if (window == s->window)
		return;
	s->seen_last = window == s->window + BUCKET_LEASE_MS ? s->seen : 0;
	s->seen = 0;
	s->window = window;
}

int bucket_lease_spend(const char *key, int64_t now_ms)
{
	struct lease *s;
	int spent = 0;

	pthread_mutex_lock(&L.mu);
	/* A bucket too small for batches needs no count. */
	s = L.cap > 1 ? lease_of(key, 1, now_ms) : NULL;
	if (s) {
		lease_roll(s, now_ms);
		s->seen++;
		if (s->held > 0 && now_ms < s->held_until) {
			s->held--;
			spent = 1;
		}
	}
	pthread_mutex_unlock(&L.mu);
	return spent;
}

void bucket_lease_unspend(const char *key, int64_t now_ms)
{
	struct lease *s;

	pthread_mutex_lock(&L.mu);
	s = lease_of(key, 0, now_ms);
	if (s && now_ms < s->held_until)
		s->held++;
	pthread_mutex_unlock(&L.mu);
}

int bucket_lease_want(const char *key, int64_t now_ms)
{
	struct lease *s;
	int want = 1;

	pthread_mutex_lock(&L.mu);
	s = lease_of(key, 0, now_ms);
	/*
	 * One batch at a time: the node's other requests meanwhile take one
	 * token each, instead of a batch each that the node could not spend.
	 */
	if (s && now_ms >= s->single_until && now_ms >= s->taking_until) {
		lease_roll(s, now_ms);
		want = s->seen > s->seen_last ? s->seen : s->seen_last;
		if (want > L.cap)
			want = L.cap;
		if (want > 1)
			s->taking_until = now_ms + BUCKET_LEASE_MS;
		else
			want = 1;
	}
	pthread_mutex_unlock(&L.mu);
	return want;
}

void bucket_lease_keep(const char *key, int extra, int64_t now_ms)
{
	struct lease *s;

	pthread_mutex_lock(&L.mu);
	s = lease_of(key, 1, now_ms);
	if (s)
		s->taking_until = 0;
	if (s && extra > 0) {
		/* Tokens of a racing thread's take still held join these. */
		if (now_ms >= s->held_until)
			s->held = 0;
		s->held += extra;
		s->held_until = now_ms + 2LL * BUCKET_LEASE_MS;
	}
	pthread_mutex_unlock(&L.mu);
}

void bucket_lease_refused(const char *key, int64_t now_ms)
{
	struct lease *s;

	pthread_mutex_lock(&L.mu);
	s = lease_of(key, 1, now_ms);
	if (s) {
		s->single_until = now_ms + BUCKET_LEASE_MS;
		s->taking_until = 0;
	}
	pthread_mutex_unlock(&L.mu);
}
