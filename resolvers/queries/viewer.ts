import { builder } from '../../schema/builder.ts';
import { ViewerRef } from '../../schema/types/Viewer.ts';

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    authScopes: { read: true },
    resolve: (_root, _args, ctx) => ctx.principal!,
  }),
);
