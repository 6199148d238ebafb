// scripts/bench still imports the proxy from here; it lives in the local-environment kit now.
export { TcpProxy } from '../../scripts/kit/tcp-proxy.js'
