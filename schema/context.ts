import type { Principal } from '../services/auth.ts';
import type { Services } from '../services/index.ts';

export interface Context {
  principal: Principal | null;
  services: Services;
}
