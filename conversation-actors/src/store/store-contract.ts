/** The shared ChatStore contract suite; it lives in ./contract/, one file per topic. */
export { runStoreContract, message, type ContractStore } from './contract/index.js';
