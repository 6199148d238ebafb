/**
 * Full-text search over a user's own transaction descriptions and upload file names.
 *
 * Both tables carry a trigger-maintained `search_vector` with a GIN index. Results are ranked with
 * ts_rank and paginated by keyset on (rank, created_at, id) so a page never repeats or skips rows
 * while the ranking stays stable. Highlights come from ts_headline over HTML-escaped text, so the
 * only markup in them is our <mark> tags.
 */
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js'

/** What to search. */
export type SearchType = 'transactions' | 'uploads' | 'all'

/** One ranked match. */
export interface SearchHit {
  type: 'transaction' | 'upload'
  id: string
  title: string
  highlight: string
  rank: number
  createdAt: Date
}

/** Where the next page starts: the last hit of the previous one. */
export interface SearchCursor {
  rank: number
  createdAt: Date
  id: string
}

// Fragments long descriptions around the matches; short ones come back whole.
const HEADLINE_OPTIONS = 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2'

const escaped = (column: Prisma.Sql) =>
  Prisma.sql`replace(replace(replace(${column}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`

function transactionsQuery(userId: string) {
  const text = Prisma.sql`coalesce(t.description, '')`
  return Prisma.sql`
    SELECT 'transaction' AS type, t.id, ${text} AS title,
           ts_headline('english', ${escaped(text)}, q.query, ${HEADLINE_OPTIONS}) AS highlight,
           ts_rank(t.search_vector, q.query) AS rank, t.created_at
    FROM transactions t, q
    WHERE t.search_vector @@ q.query AND (t.from_user_id = ${userId}::uuid OR t.to_user_id = ${userId}::uuid)`
}

function uploadsQuery(userId: string) {
  // The same separators the index trigger turns into spaces, so highlights land on the words.
  const text = Prisma.sql`regexp_replace(u.file_name, '[._/\\\\-]+', ' ', 'g')`
  return Prisma.sql`
    SELECT 'upload' AS type, u.id, u.file_name AS title,
           ts_headline('english', ${escaped(text)}, q.query, ${HEADLINE_OPTIONS}) AS highlight,
           ts_rank(u.search_vector, q.query) AS rank, u.created_at
    FROM uploads u, q
    WHERE u.search_vector @@ q.query AND u.user_id = ${userId}::uuid`
}

interface Row {
  type: 'transaction' | 'upload'
  id: string
  title: string
  highlight: string
  rank: number
  created_at: Date
}

/** One page of the user's matches, best first; `limit + 1` rows are read to know if more follow. */
export async function search(
  db: PrismaClient,
  params: { userId: string; q: string; type: SearchType; limit: number; after?: SearchCursor },
): Promise<{ hits: SearchHit[]; next: SearchCursor | undefined }> {
  const parts: Prisma.Sql[] = []
  if (params.type !== 'uploads') parts.push(transactionsQuery(params.userId))
  if (params.type !== 'transactions') parts.push(uploadsQuery(params.userId))
  const after = params.after
  const page = after
    ? Prisma.sql`WHERE (rank, created_at, id) < (${after.rank}::real, ${after.createdAt}::timestamptz, ${after.id}::uuid)`
    : Prisma.empty
  const rows = await db.$queryRaw<Row[]>`
    WITH q AS (SELECT websearch_to_tsquery('english', ${params.q}) AS query)
    SELECT * FROM (${Prisma.join(parts, ' UNION ALL ')}) hits
    ${page}
    ORDER BY rank DESC, created_at DESC, id DESC
    LIMIT ${params.limit + 1}`
  const hits = rows.slice(0, params.limit).map((r) => ({
    type: r.type,
    id: r.id,
    title: r.title,
    highlight: r.highlight,
    rank: Number(r.rank),
    createdAt: r.created_at,
  }))
  const last = hits.at(-1)
  return {
    hits,
    next:
      rows.length > params.limit && last
        ? { rank: last.rank, createdAt: last.createdAt, id: last.id }
        : undefined,
  }
}
