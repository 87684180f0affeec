/* SPDX-License-Identifier: MIT */
/*
 * blockcache: per-thread free lists of glibc heap blocks, keyed by the
 * usable size glibc reports, for OpenSSL's and libevent's per-request
 * allocations.  See blockcache.h for why and for the contract.
 *
 * Classes: 64 small ones, one for each usable size glibc hands out up to
 * 1032 bytes (24, 40, 56, ...: 16-byte steps), so a cached block wastes
 * nothing glibc would not have; and 56 large ones up to 128 KiB, eight to
 * each doubling (1152, 1280, ... 2048, 2304, ... 16384, 18432, ...), so a
 * block is never more than an eighth larger than the request it serves: a
 * long-lived object of 5 KiB is never given an 8 KiB block, and the sizes
 * OpenSSL and libevent really ask for (16,484 for a record buffer, 32,768
 * and 66,832 for evbuffer chains) each have a class just above them.  A
 * freed block joins the largest class it can serve; an allocation is
 * served from the smallest class that holds it, and a miss allocates the
 * class's full size, so the block comes back to the same class.
 */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "blockcache.h"

#define SMALL_MIN	24
#define SMALL_SHIFT	4		/* glibc's 16-byte steps */
#define SMALL_CLASSES	64
#define SMALL_MAX	(SMALL_MIN + ((SMALL_CLASSES - 1) << SMALL_SHIFT))	/* 1032 */
/* large class L (1..LARGE_CLASSES) is 2^e + m * 2^(e-3), L = (e - 10) * 8 + m */
#define LARGE_BASE_SHIFT 10
#define LARGE_STEPS_SHIFT 3		/* eight classes a doubling */
#define LARGE_CLASSES	56		/* the last is 128 KiB */
#define NCLASSES	(SMALL_CLASSES + LARGE_CLASSES)

/*
 * Blocks kept per class: enough for the connections a worker serves at
 * once.  A small class keeps at most 64 blocks or 8 KiB of them, whichever
 * is fewer (but 8 blocks at least), so the small classes together stay
 * below SMALL_BOUND without a byte count on their fast paths; the large
 * ones count their bytes against LARGE_BUDGET.
 */
#define SMALL_KEEP	64
#define SMALL_CLASS_BYTES 8192
#define SMALL_KEEP_MIN	8
#define LARGE_KEEP	8
#define SMALL_BOUND	(512 * 1024)
#define LARGE_BUDGET	(BLOCKCACHE_MAX_BYTES - SMALL_BOUND)

/*
 * glibc keeps each block's chunk size in the word before it (low 3 bits
 * are flags; bit 2 marks an mmapped chunk): usable = size - 8, or - 16 if
 * mmapped.  Reading it costs 3 instructions where malloc_usable_size()
 * costs a call, 11 more and the registers it makes the caller save: about
 * 2,500 instructions of a proxied GET's 88,000 (callgrind).  It is used only
 * after blockcache_install() has seen it agree with malloc_usable_size()
 * for blocks of every kind, and never under AddressSanitizer (whose
 * malloc has its own layout, and whose redzone the read would touch) nor
 * with anything LD_PRELOADed (valgrind's memcheck, jemalloc, heaptrack).
 */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#  if defined(__has_feature)
#    if !__has_feature(address_sanitizer)
#      define CAN_READ_CHUNK_SIZE 1
#    endif
#  else
#    define CAN_READ_CHUNK_SIZE 1
#  endif
#endif

static bool read_chunk_size;	/* set once, before any thread starts */

/*
 * Under AddressSanitizer a cached block is poisoned (but for its link to
 * the next) from the moment it is kept until it is handed out again, so a use after free inside OpenSSL
 * or libevent is still reported although glibc (ASan) never saw the free.
 */
#if defined(__SANITIZE_ADDRESS__)
#  define CACHE_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define CACHE_ASAN 1
#  endif
#endif
#ifdef CACHE_ASAN
/*
 * The link word stays readable: LeakSanitizer follows it to the blocks
 * behind, which it would report as leaked at exit otherwise.
 */
#  include <sanitizer/asan_interface.h>
#  define CACHE_POISON(p, n)	ASAN_POISON_MEMORY_REGION((char *)(p) + \
	sizeof(struct block), (n) - sizeof(struct block))
#  define CACHE_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#  define CACHE_POISON(p, n)	((void)(p), (void)(n))
#  define CACHE_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

/* the fast paths' helpers are inlined into them: no calls, no saved registers */
#define HOT	static inline __attribute__((always_inline))

#ifdef CAN_READ_CHUNK_SIZE
/* glibc's chunk word: size and flags (through an integer: it is glibc's, before the block) */
HOT size_t
chunk_word(const void *p)
{
	return *(const size_t *)((uintptr_t)p - sizeof(size_t));
}

HOT size_t
chunk_usable(const void *p)
{
	size_t sz = chunk_word(p);

	/* less 8, and 8 more if mmapped (bit 2): (sz & 2) << 2 is 0 or 8 */
	return (sz & ~(size_t)7) - 8 - ((sz & 2) << 2);
}
#endif

static size_t
block_usable(void *p)
{
#ifdef CAN_READ_CHUNK_SIZE
	if (read_chunk_size)
		return chunk_usable(p);
#endif
	return malloc_usable_size(p);
}

/*
 * True when glibc's chunk sizes may be read: nothing preloaded, and
 * for small, large and mmapped blocks the read agrees with glibc.
 */
static bool
chunk_size_readable(void)
{
#ifdef CAN_READ_CHUNK_SIZE
	static const size_t sizes[] = { 1, 24, 25, 100, 1032, 5000, 70000, 300000 };
	const char *preload = getenv("LD_PRELOAD");
	bool agree = true;
	size_t i;
	void *p;

	/* valgrind's core preload alone (callgrind, cachegrind) leaves malloc to glibc */
	if (preload != NULL && *preload != '\0' && (strpbrk(preload, ": ") != NULL ||
	    strstr(preload, "/vgpreload_core-") == NULL))
		return false;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && agree; i++) {
		if ((p = malloc(sizes[i])) == NULL)
			return false;
		agree = chunk_usable(p) == malloc_usable_size(p);
		free(p);
	}
	return agree;
#else
	return false;
#endif
}

struct block {
	struct block	*next;
};

struct thread_cache {
	struct block	*head[NCLASSES];
	uint16_t	 count[NCLASSES];
	size_t		 large_bytes;	/* held in the large classes */
	bool		 fast;		/* free's fast path: chunk sizes read, exit
					   flush armed, thread not ending */
	bool		 exit_armed;	/* the thread-exit flush is registered */
	bool		 exiting;	/* the thread is ending: frees go to glibc */
};

static __thread struct thread_cache cache;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/* The size of large class L, 1..LARGE_CLASSES. */
HOT size_t
large_size(unsigned L)
{
	unsigned e = LARGE_BASE_SHIFT + (L >> LARGE_STEPS_SHIFT);
	size_t m = L & ((1u << LARGE_STEPS_SHIFT) - 1);

	return ((size_t)1 << e) + (m << (e - LARGE_STEPS_SHIFT));
}

#define SMALL_SIZE(c)	(SMALL_MIN + ((c) << SMALL_SHIFT))

HOT size_t
class_size(int c)
{
	if (c < SMALL_CLASSES)
		return SMALL_SIZE((size_t)c);
	return large_size((unsigned)(c - SMALL_CLASSES + 1));
}

/* Small class c's limit: min(SMALL_KEEP, SMALL_CLASS_BYTES / size), >= SMALL_KEEP_MIN. */
#define KEEP_BY_BYTES(c) (SMALL_CLASS_BYTES / SMALL_SIZE(c) < SMALL_KEEP_MIN ? \
	SMALL_KEEP_MIN : SMALL_CLASS_BYTES / SMALL_SIZE(c))
/* (the cast: clang warns of the larger branch a constant ternary does not take) */
#define KEEP(c)		((uint8_t)(KEEP_BY_BYTES(c) > SMALL_KEEP ? SMALL_KEEP : KEEP_BY_BYTES(c)))
#define KEEP4(c)	KEEP(c), KEEP((c) + 1), KEEP((c) + 2), KEEP((c) + 3)
#define KEEP16(c)	KEEP4(c), KEEP4((c) + 4), KEEP4((c) + 8), KEEP4((c) + 12)
static const uint8_t small_keep[SMALL_CLASSES] = {
	KEEP16(0), KEEP16(16), KEEP16(32), KEEP16(48)
};
_Static_assert(SMALL_SIZE(SMALL_CLASSES - 1) == SMALL_MAX, "small classes end at SMALL_MAX");

HOT unsigned
class_keep(int c)
{
	return c < SMALL_CLASSES ? small_keep[c] : LARGE_KEEP;
}

/* The small class an allocation of n <= SMALL_MAX bytes is served from. */
HOT int
small_class(size_t n)
{
	return n <= SMALL_MIN ? 0 :
	    (int)((n - SMALL_MIN + (1u << SMALL_SHIFT) - 1) >> SMALL_SHIFT);
}

/* The class an allocation of n bytes is served from, or -1: not cached. */
HOT int
alloc_class(size_t n)
{
	unsigned e, L;
	size_t step;

	if (n <= SMALL_MAX)
		return small_class(n);
	if (n > large_size(LARGE_CLASSES))
		return -1;
	e = 63 - (unsigned)__builtin_clzl(n - 1);	/* 2^e < n <= 2^(e+1) */
	step = (size_t)1 << (e - LARGE_STEPS_SHIFT);
	/* the smallest 2^e + m * step >= n, m = 1..8 */
	L = ((e - LARGE_BASE_SHIFT) << LARGE_STEPS_SHIFT) +
	    (unsigned)((n - ((size_t)1 << e) + step - 1) >> (e - LARGE_STEPS_SHIFT));
	return SMALL_CLASSES + (int)L - 1;
}

/* The class a block of usable size u joins, or -1: not cached. */
HOT int
free_class(size_t u)
{
	unsigned e, L;

	if (u < SMALL_MIN)
		return -1;
	if (u < SMALL_MAX + (1u << SMALL_SHIFT))
		return (int)((u - SMALL_MIN) >> SMALL_SHIFT);
	if (u < large_size(1))
		return -1;
	e = 63 - (unsigned)__builtin_clzl(u);		/* 2^e <= u < 2^(e+1) */
	/* the largest 2^e + m * 2^(e-3) <= u, m = 0..7 */
	L = ((e - LARGE_BASE_SHIFT) << LARGE_STEPS_SHIFT) +
	    (unsigned)((u - ((size_t)1 << e)) >> (e - LARGE_STEPS_SHIFT));
	if (L > LARGE_CLASSES)
		return -1;	/* more than an eighth over 128 KiB */
	return SMALL_CLASSES + (int)L - 1;
}

void
blockcache_flush(void)
{
	struct block *b;
	int c;

	for (c = 0; c < NCLASSES; c++) {
		while ((b = cache.head[c]) != NULL) {
			CACHE_UNPOISON(b, class_size(c));
			cache.head[c] = b->next;
			free(b);
		}
		cache.count[c] = 0;
	}
	cache.large_bytes = 0;
}

static void
thread_exit(void *unused)
{
	(void)unused;
	/* OpenSSL's own thread-exit cleanup may free after this: pass it on */
	cache.exiting = true;
	cache.fast = false;
	blockcache_flush();
}

static void
make_exit_key(void)
{
	(void)pthread_key_create(&exit_key, thread_exit);
}

/* The first block a thread keeps arms its thread-exit flush. */
static void
arm_exit(void)
{
	(void)pthread_once(&exit_key_once, make_exit_key);
	(void)pthread_setspecific(exit_key, &cache);
	cache.exit_armed = true;
	cache.fast = read_chunk_size;
}

/* Takes a block of class c from the cache, or NULL. */
HOT void *
take_block(int c)
{
	struct block *b;

	if ((b = cache.head[c]) == NULL)
		return NULL;
	CACHE_UNPOISON(b, class_size(c));
	cache.head[c] = b->next;
	cache.count[c]--;
	if (c >= SMALL_CLASSES)
		cache.large_bytes -= class_size(c);
	return b;
}

/*
 * The small sizes, nearly every request, take the first branch: a class
 * from the size with a clamp, a list head and a count.
 */
void *
blockcache_malloc(size_t n)
{
	void *b;
	int c;

	if (n - 1 < SMALL_MAX) {		/* 1..1032; 0 wraps */
		c = small_class(n);
		if ((b = take_block(c)) != NULL)
			return b;
		return malloc(SMALL_SIZE((size_t)c));
	}
	if (n == 0)
		return NULL;
	if ((c = alloc_class(n)) < 0)
		return malloc(n);
	if ((b = take_block(c)) != NULL)
		return b;
	return malloc(class_size(c));
}

/* Puts block b on class c's list, which has room for it. */
HOT void
push_block(struct block *b, int c)
{
	b->next = cache.head[c];
	CACHE_POISON(b, class_size(c));
	cache.head[c] = b;
	cache.count[c]++;
	if (c >= SMALL_CLASSES)
		cache.large_bytes += class_size(c);
}

/* Keeps block b in class c, or gives it to glibc if the class is full. */
HOT void
keep_block(struct block *b, int c)
{
	if (c < 0 || cache.count[c] >= class_keep(c) || (c >= SMALL_CLASSES &&
	    cache.large_bytes + class_size(c) > LARGE_BUDGET)) {
		free(b);
		return;
	}
	push_block(b, c);
}

/* The paths a running thread takes rarely, out of blockcache_free's way. */
static __attribute__((noinline)) void
free_slow(void *p)
{
	if (cache.exiting) {
		free(p);
		return;
	}
	if (!cache.exit_armed)
		arm_exit();
	keep_block(p, free_class(block_usable(p)));
}

/*
 * The fast path calls nothing but in tail position, so it saves no
 * registers: it runs about 80 times a proxied GET.  A small block's class
 * comes straight from glibc's chunk word: for a chunk of 32 + 16c bytes
 * (usable 24 + 16c), word - 32 is 16c plus the flag bits, and with
 * neither IS_MMAPPED (2) nor anything above 1008 set, c = (word - 32) / 16.
 * Everything else (large, mmapped, a full class) takes free_slow().
 */
void
blockcache_free(void *p)
{
#ifdef CAN_READ_CHUNK_SIZE
	size_t x;
	int c;
#endif

	if (p == NULL)
		return;
#ifdef CAN_READ_CHUNK_SIZE
	if (cache.fast) {
		x = chunk_word(p) - 32;
		c = (int)(x >> SMALL_SHIFT);
		if ((x & ~(size_t)0x3f5) == 0 && cache.count[c] < small_keep[c]) {
			push_block(p, c);
			return;
		}
	}
#endif
	free_slow(p);
}

void *
blockcache_realloc(void *p, size_t n)
{
	if (p == NULL)
		return blockcache_malloc(n);
	if (n == 0) {
		blockcache_free(p);
		return NULL;
	}
	if (n <= block_usable(p))
		return p;
	return realloc(p, n);
}

void
blockcache_stats(struct blockcache_stats *st)
{
	int c;

	st->blocks = 0;
	st->bytes = 0;
	for (c = 0; c < NCLASSES; c++) {
		st->blocks += cache.count[c];
		st->bytes += cache.count[c] * class_size(c);
	}
	st->reads_chunk_sizes = read_chunk_size;
}

/* OpenSSL's allocator signatures carry the caller's file and line. */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return blockcache_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return blockcache_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	blockcache_free(p);
}

bool
blockcache_install(void)
{
	read_chunk_size = chunk_size_readable();
	event_set_mem_functions(blockcache_malloc, blockcache_realloc, blockcache_free);
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
}
