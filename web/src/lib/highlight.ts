/** A search excerpt split into plain and matched runs, so React renders it without innerHTML. */
export interface Run {
  text: string
  match: boolean
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
}

/** Parses the service's HTML-escaped excerpt with `<mark></mark>` around matches. */
export function highlightRuns(html: string): Run[] {
  return html
    .split(/(<mark>.*?<\/mark>)/)
    .filter(Boolean)
    .map((part) => {
      const match = part.startsWith('<mark>')
      const inner = match ? part.slice(6, -7) : part
      return { text: inner.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e), match }
    })
}
