// Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not from schema.prisma).
// DATABASE_URL is optional so `prisma generate` works without a database.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL },
})
