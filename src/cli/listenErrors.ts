/**
 * Why a listen fails on a host that does not resolve, or resolves to no address of this machine:
 * the host the user named is wrong, not the server.
 */
export const NOT_AN_ADDRESS_HERE: readonly string[] = ['ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'];
