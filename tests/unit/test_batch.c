/*
 * Unit tests of leader and follower batching (src/batch.c): an item alone
 * runs at once; items that come while a batch is under way go together
 * into the next, at most max_items each; no more batches run at once than
 * max_running allows, and two run at once when it allows two; under
 * threads racing, every item runs exactly once and gets its own answer.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "batch.h"

/* An item's question and answer. */
struct job {
	int in;
	int out;
	int runs; /* how many batches ran it */
	void *leader_ctx;
};

/* What the run function saw, under its own lock. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t seen_cond = PTHREAD_COND_INITIALIZER;
static int sizes[256];
static int nbatches;
static long total_items;
static int running_now, running_max;
/* The first batch waits until this many items are queued behind it. */
static int hold_first_until;
/* Each batch waits until another is under way (or gives up after 1 s). */
static int wait_for_company;
static int company_seen;
static struct batch *the_batch;
/* How long each batch takes, in microseconds (0: no time at all). */
static long run_us;

/* Waits on seen_cond until deadline; 0 when it passed. */
static int seen_wait(struct timespec *deadline)
{
	return pthread_cond_timedwait(&seen_cond, &seen_lock, deadline) !=
	       ETIMEDOUT;
}

static void deadline_in(struct timespec *t, int seconds)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_sec += seconds;
}

static void run(struct batch_item **items, int n, void *ctx)
{
	struct timespec deadline;
	int first;

	pthread_mutex_lock(&seen_lock);
	first = nbatches == 0;
	if (nbatches < (int)(sizeof(sizes) / sizeof(sizes[0])))
		sizes[nbatches] = n;
	nbatches++;
	total_items += n;
	running_now++;
	if (running_now > running_max)
		running_max = running_now;
	pthread_cond_broadcast(&seen_cond);
	deadline_in(&deadline, 1);
	while (wait_for_company && running_now < 2 && seen_wait(&deadline))
		;
	if (running_now >= 2)
		company_seen = 1;
	pthread_mutex_unlock(&seen_lock);
	/* Polls the queue: the batch's lock is not held here. */
	for (int i = 0; first && hold_first_until && i < 5000 &&
			batch_queued(the_batch) < hold_first_until;
	     i++) {
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
	}
	if (run_us) {
		struct timespec t = {0, run_us * 1000};

		nanosleep(&t, NULL);
	}
	for (int i = 0; i < n; i++) {
		struct job *j = items[i]->arg;

		j->out = j->in * 10;
		j->runs++;
		j->leader_ctx = ctx;
	}
	pthread_mutex_lock(&seen_lock);
	running_now--;
	pthread_mutex_unlock(&seen_lock);
}

static int reset(void **state)
{
	(void)state;
	nbatches = running_now = running_max = 0;
	total_items = 0;
	hold_first_until = wait_for_company = company_seen = 0;
	run_us = 0;
	return 0;
}

static void job_do(struct batch *b, struct job *j)
{
	struct batch_item item = {.arg = j};

	batch_do(b, &item, j);
}

static void *job_thread(void *arg)
{
	job_do(the_batch, arg);
	return NULL;
}

static void test_an_item_alone_runs_at_once_in_its_own_thread(void **state)
{
	struct batch b = BATCH_INIT(1, 8, run);
	struct job j = {.in = 7};

	(void)state;
	the_batch = &b;
	job_do(&b, &j);
	assert_int_equal(j.out, 70);
	assert_int_equal(j.runs, 1);
	assert_ptr_equal(j.leader_ctx, &j);
	assert_int_equal(nbatches, 1);
	assert_int_equal(sizes[0], 1);
	assert_int_equal(batch_queued(&b), 0);
}

/*
 * The first item's batch is held until `followers` more are queued; the
 * batches that follow are then as large as max_items allows.
 */
static void run_behind_one(int max_items, int followers)
{
	struct batch b = BATCH_INIT(1, max_items, run);
	struct job jobs[16];
	pthread_t t[16];

	the_batch = &b;
	hold_first_until = followers;
	for (int i = 0; i <= followers; i++) {
		jobs[i] = (struct job){.in = i + 1};
		assert_int_equal(
			pthread_create(&t[i], NULL, job_thread, &jobs[i]), 0);
		/* The first must lead alone: wait until its batch runs. */
		if (i == 0) {
			struct timespec deadline;

			deadline_in(&deadline, 5);
			pthread_mutex_lock(&seen_lock);
			while (nbatches == 0 && seen_wait(&deadline))
				;
			pthread_mutex_unlock(&seen_lock);
			assert_int_equal(nbatches, 1);
		}
	}
	for (int i = 0; i <= followers; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i <= followers; i++) {
		assert_int_equal(jobs[i].out, (i + 1) * 10);
		assert_int_equal(jobs[i].runs, 1);
	}
	assert_int_equal(batch_queued(&b), 0);
}

static void test_items_queued_meanwhile_go_in_one_batch(void **state)
{
	(void)state;
	run_behind_one(8, 6);
	assert_int_equal(nbatches, 2);
	assert_int_equal(sizes[0], 1);
	assert_int_equal(sizes[1], 6);
	assert_int_equal(running_max, 1);
}

static void test_a_batch_takes_max_items_at_most(void **state)
{
	(void)state;
	run_behind_one(3, 7);
	assert_int_equal(nbatches, 4);
	assert_int_equal(sizes[0], 1);
	assert_int_equal(sizes[1], 3);
	assert_int_equal(sizes[2], 3);
	assert_int_equal(sizes[3], 1);
	assert_int_equal(running_max, 1);
}

/* Two threads, each batch waiting (up to 1 s) for another to start. */
static void two_at_once(int max_running)
{
	struct batch b = BATCH_INIT(max_running, 8, run);
	struct job jobs[2] = {{.in = 1}, {.in = 2}};
	pthread_t t[2];

	the_batch = &b;
	wait_for_company = 1;
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, job_thread, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(jobs[0].out, 10);
	assert_int_equal(jobs[1].out, 20);
}

static void test_two_batches_run_at_once_when_allowed(void **state)
{
	(void)state;
	two_at_once(2);
	assert_int_equal(company_seen, 1);
	assert_int_equal(running_max, 2);
	assert_int_equal(nbatches, 2);
}

static void test_one_batch_at_a_time_when_so_set(void **state)
{
	(void)state;
	two_at_once(1);
	assert_int_equal(company_seen, 0);
	assert_int_equal(running_max, 1);
}

#define RACERS 8
#define CALLS 3000

static void *racer(void *arg)
{
	struct job *jobs = arg;

	for (int i = 0; i < CALLS; i++)
		job_do(the_batch, &jobs[i]);
	return NULL;
}

static void test_racing_threads_each_get_their_own_answer_once(void **state)
{
	static struct job jobs[RACERS][CALLS];
	struct batch b = BATCH_INIT(2, 4, run);
	pthread_t t[RACERS];

	(void)state;
	the_batch = &b;
	run_us = 20;
	for (int r = 0; r < RACERS; r++)
		for (int i = 0; i < CALLS; i++)
			jobs[r][i] = (struct job){.in = r * CALLS + i};
	for (int r = 0; r < RACERS; r++)
		assert_int_equal(pthread_create(&t[r], NULL, racer, jobs[r]),
				 0);
	for (int r = 0; r < RACERS; r++)
		pthread_join(t[r], NULL);
	for (int r = 0; r < RACERS; r++)
		for (int i = 0; i < CALLS; i++) {
			assert_int_equal(jobs[r][i].out, (r * CALLS + i) * 10);
			assert_int_equal(jobs[r][i].runs, 1);
		}
	for (int i = 0; i < nbatches && i < 256; i++)
		assert_in_range(sizes[i], 1, 4);
	assert_int_equal(total_items, (long)RACERS * CALLS);
	/* Each batch takes a while: the others queue meanwhile. */
	assert_true(nbatches < RACERS * CALLS);
	assert_in_range(running_max, 1, 2);
	assert_int_equal(batch_queued(&b), 0);
	printf("# %d batches for %d items\n", nbatches, RACERS * CALLS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_an_item_alone_runs_at_once_in_its_own_thread,
			reset),
		cmocka_unit_test_setup(
			test_items_queued_meanwhile_go_in_one_batch, reset),
		cmocka_unit_test_setup(test_a_batch_takes_max_items_at_most,
				       reset),
		cmocka_unit_test_setup(
			test_two_batches_run_at_once_when_allowed, reset),
		cmocka_unit_test_setup(test_one_batch_at_a_time_when_so_set,
				       reset),
		cmocka_unit_test_setup(
			test_racing_threads_each_get_their_own_answer_once,
			reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
