// `ensnap orders …`: every account's orders, for the operator (ensnap's API version 2026-11-01).
import { DATA_VERSION, type EnsnapClient } from '../client/ensnap-client.js';
import { COMMAND_USAGE_FOOTER, optionalOption, runCommand, type CommandTree } from './commands.js';
import { UsageError } from './env.js';
import { fields, json, table, text } from './output.js';

export const ORDERS_USAGE = `usage: ensnap orders [--account <AccountId>]
       ensnap orders show <OrderId>

The orders written by CreateSnapshot, CopySnapshot and ResizeDisk, newest first, for the
deployment's operator (ENSNAP_ACCESS_KEY_ID / SECRET: the key \`ensnap serve\` printed or was
configured with).

(none)   Every order, or the account's with --account: id, account, product, action, resource,
         node, state, amount, creation time.
show     One order, field by field.

${COMMAND_USAGE_FOOTER}`;

type Order = Record<string, unknown>;

/** Every page of DescribeOrders that matches `filter`. */
async function allOrders(client: EnsnapClient, filter: Record<string, string | undefined>): Promise<Order[]> {
  const orders: Order[] = [];
  for (let page = 1; ; page++) {
    const r = await client.call(
      'DescribeOrders',
      { ...filter, PageNumber: String(page), PageSize: '100' },
      DATA_VERSION,
    );
    const items = r.Orders as Order[];
    orders.push(...items);
    if (items.length === 0 || orders.length >= Number(r.TotalCount)) return orders;
  }
}

const ORDER_COMMANDS: CommandTree = {
  list: {
    args: [],
    options: { account: 'string' },
    async run(client, input) {
      const orders = await allOrders(client, { AccountId: optionalOption(input, 'account') });
      if (input.json) return void process.stdout.write(json(orders));
      process.stdout.write(
        table(
          ['ORDER ID', 'ACCOUNT ID', 'PRODUCT', 'ACTION', 'RESOURCE', 'NODE', 'STATE', 'AMOUNT', 'CREATED'],
          orders.map((o) =>
            [
              o.OrderId,
              o.AccountId,
              o.Product,
              o.Action,
              o.ResourceId,
              o.EnsRegionId,
              o.State,
              o.Amount,
              o.CreateTime,
            ].map(text),
          ),
        ),
      );
    },
  },
  show: {
    args: ['OrderId'],
    async run(client, input) {
      const [orderId] = input.args as [string];
      const [order] = await allOrders(client, { OrderId: orderId });
      if (!order) throw new UsageError(`no order ${orderId}`);
      if (input.json) return void process.stdout.write(json(order));
      process.stdout.write(fields(Object.entries(order)));
    },
  },
};

export function ordersCommand(argv: string[]): Promise<void> {
  // `ensnap orders` alone (or with options) lists; `ensnap orders show …` shows one.
  const [first] = argv;
  const words = first === 'show' || first === 'list' || first === 'help' ? argv : ['list', ...argv];
  return runCommand(words, ORDER_COMMANDS, ORDERS_USAGE, 'ensnap orders');
}
