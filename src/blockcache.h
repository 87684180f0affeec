/* SPDX-License-Identifier: MIT */
/*
 * blockcache: a per-thread cache of freed heap blocks in front of glibc's
 * malloc, for the allocations OpenSSL and libevent make per request.
 *
 * Why: OpenSSL 3.0 duplicates the HMAC context of every TLS 1.0-1.2 CBC
 * record it seals or opens (a dozen allocations a record), and libevent
 * takes an evbuffer chain for every read; a proxied keep-alive GET makes
 * about 65 malloc/free pairs.  glibc's fastest path (its tcache) costs
 * about 130 instructions a pair, and anything over 1 KiB, like the 32 KiB
 * chain a TLS read reserves, takes its slower bins.  A free list costs
 * about 30.
 *
 * Contract:
 *  - Every block is an ordinary glibc heap block from start to end: the
 *    cache keys blocks by malloc_usable_size(), so a block this cache hands
 *    out may be given to free() or realloc(), and any malloc()ed block may
 *    be given to blockcache_free().  Nothing is added in front of a block;
 *    no memory is spent per block.  Once installed, the size is read from
 *    glibc's chunk header when that was checked to agree (blockcache.c).
 *  - Sizes up to 1032 bytes are cached in glibc's own 16-byte steps, larger
 *    ones up to 128 KiB in steps of an eighth of a doubling (a request gets
 *    at most an eighth more than it asked for); larger blocks pass straight
 *    through.  A thread keeps at most BLOCKCACHE_MAX_BYTES in its lists
 *    (the small classes at most 512 KiB of it, by a limit per class; the
 *    large ones the rest, by their byte count): frees beyond that go to
 *    glibc.
 *  - A block may be freed on another thread than the one that took it.  A
 *    thread's lists go back to glibc when the thread ends.
 *  - blockcache_malloc(0) returns NULL, as OpenSSL's and libevent's own
 *    allocators do; blockcache_realloc() never shrinks a block.
 *
 * blockcache_install() must run before anything allocates through OpenSSL
 * or libevent (first thing in main): both refuse new allocator functions
 * once they have allocated.
 */
#ifndef TLSBROKER_BLOCKCACHE_H
#define TLSBROKER_BLOCKCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define BLOCKCACHE_MAX_BYTES	(1536 * 1024)

void	*blockcache_malloc(size_t);
void	*blockcache_realloc(void *, size_t);
void	 blockcache_free(void *);

/*
 * Routes OpenSSL's and libevent's allocations through the cache.  False if
 * OpenSSL refused (it had already allocated with its default allocator);
 * libevent cannot tell.
 */
bool	 blockcache_install(void);

/* Gives the calling thread's cached blocks back to glibc. */
void	 blockcache_flush(void);

/* The calling thread's cache, for tests: blocks and bytes held. */
struct blockcache_stats {
	size_t	blocks;
	size_t	bytes;
	bool	reads_chunk_sizes;	/* glibc's chunk headers, not malloc_usable_size() */
};
void	 blockcache_stats(struct blockcache_stats *);

#endif
