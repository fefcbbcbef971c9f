export { IpvmClient, SubscriptionStream, RpcClientError, type ClientOptions } from './client.js'
