/**
 * The local-environment kit: everything a test, drill, benchmark or chaos run needs to stand up
 * the service on this machine (scratch database, Redis prefix, free port, the service as a process,
 * TCP proxies that delay or cut, extra PostgreSQL clusters). One copy, used by all of them.
 */

export * from './api.js'
export * from './net.js'
export * from './pg-cluster.js'
export * from './postgres.js'
export * from './redis.js'
export * from './service.js'
export * from './tcp-proxy.js'
export * from './workload.js'
