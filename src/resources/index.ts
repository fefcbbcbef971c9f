/**
 * Resources: the bytes behind a task's resource URL. `ipfs://<cid>` and gateway URLs
 * are read by CID, from the store and then from block sources (Kubo's API, an HTTP
 * gateway, peers), every block checked against its hash; `file://` and `http(s)://`
 * URLs are read where the options allow them.
 */
export { ResourceResolver, type FetchedResource, type ResourceResolverComponents } from './resolver.js'
export { defaultResourceResolverOptions, resourceResolverOptions, type ResourceResolverOptions } from './options.js'
export { ResourceError, ResourceErrorCode } from './errors.js'
export { cidOfUrl, isContentAddressedUrl } from './content-address.js'
export type { BlockSource } from './sources/block-source.js'
export { KuboBlockSource } from './sources/kubo.js'
export { GatewayBlockSource } from './sources/gateway.js'
