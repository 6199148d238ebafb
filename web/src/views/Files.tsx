import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { postToS3 } from '../lib/upload.js'
import { useRead } from '../useRead.js'
import { detail } from './Auth.js'

type Upload = { id: string; fileName: string; contentType: string; size: number; status: string }

/** Uploads straight to S3 through a presigned POST, with progress; images show inline. */
export function FilesView() {
  const uploads = useRead('uploads', () =>
    unwrap(api.GET('/v1/uploads', { params: { query: { limit: 50 } } })),
  )
  const [progress, setProgress] = useState<number>()
  const [error, setError] = useState<string>()
  const items = ((uploads.data?.items ?? []) as Upload[]).filter((u) => u.status === 'completed')

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const formElement = event.currentTarget
    const file = (formElement.elements.namedItem('file') as HTMLInputElement).files?.[0]
    if (!file) return
    setError(undefined)
    setProgress(0)
    try {
      const created = await unwrap(
        api.POST('/v1/uploads', {
          body: {
            fileName: file.name,
            contentType: file.type || 'application/octet-stream',
            size: file.size,
          },
        }),
      )
      await postToS3(created.uploadUrl, created.fields as Record<string, string>, file, setProgress)
      await unwrap(api.POST('/v1/uploads/{id}/complete', { params: { path: { id: created.id } } }))
      formElement.reset()
      uploads.reload()
    } catch (err) {
      setError(err instanceof ApiError ? detail(err) : err instanceof Error ? err.message : String(err))
    } finally {
      setProgress(undefined)
    }
  }

  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      <form onSubmit={submit} className="inline" aria-label="Upload a file">
        <label>
          File
          <input
            name="file"
            type="file"
            required
            accept="image/png,image/jpeg,image/webp,application/pdf,text/plain,text/csv"
          />
        </label>
        <button type="submit" disabled={progress !== undefined}>
          Upload
        </button>
        {progress !== undefined && (
          <progress max={1} value={progress} aria-label="Upload progress">
            {Math.round(progress * 100)}%
          </progress>
        )}
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="files" data-testid="files">
        {items.map((u) => (
          <FileItem key={u.id} upload={u} />
        ))}
      </ul>
    </section>
  )
}

function FileItem({ upload }: { upload: Upload }) {
  const link = useRead(`upload:${upload.id}`, () =>
    unwrap(api.GET('/v1/uploads/{id}', { params: { path: { id: upload.id } } })),
  )
  const url = link.offline ? undefined : link.data?.downloadUrl
  return (
    <li>
      {url && upload.contentType.startsWith('image/') && <img src={url} alt={upload.fileName} width={160} />}
      {url ? <a href={url}>{upload.fileName}</a> : <span>{upload.fileName}</span>}
    </li>
  )
}
