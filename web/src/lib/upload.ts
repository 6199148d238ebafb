/** Posts a file straight to S3 with the presigned form fields; reports progress from 0 to 1. */
export function postToS3(
  url: string,
  fields: Record<string, string>,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  // S3 requires the file to be the last field of the form.
  form.append('file', file)
  return new Promise((resolve, reject) => {
    // fetch() reports no upload progress; XMLHttpRequest does.
    const xhr = new XMLHttpRequest()
    xhr.open('POST', url)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total)
    }
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new Error(`storage refused the upload (${xhr.status})`))
    xhr.onerror = () => reject(new Error('the upload could not reach storage'))
    xhr.send(form)
  })
}
