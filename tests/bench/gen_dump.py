#!/usr/bin/env python3
"""Writes a SQL-dump-like text file for the compress benchmark: mysqldump-style extended
INSERT statements for a few tables with varied rows (ids, names, e-mail addresses, dates,
amounts, status words, free text, hashes), so zstd -3 reaches a ratio of roughly 3-5 as
on real dumps. Deterministic for a given seed.

    gen_dump.py OUT.sql [SIZE_MB=500] [SEED=1]
"""
import random
import sys

WORDS = ("order customer shipped pending refund invoice payment delivery address warehouse "
         "product review rating discount coupon cart checkout account password session token "
         "mobile desktop browser search filter category brand price stock supplier return "
         "quality service support ticket urgent normal low high great poor fast slow again "
         "thanks please the a of and to in for with on at by from is was not very").split()
FIRST = ("anna bruno carla david emma felix greta hugo ines jonas karla lukas mona nils olga "
         "paul rita sven tina udo vera willi xenia yusuf zoe").split()
LAST = ("meyer schmidt novak rossi dubois garcia smith jones kowalski nielsen horvat silva "
        "berg lund costa martin weber fischer wagner becker").split()
DOMAINS = ("example.com mail.test shop.example corp.example post.test").split()
STATUS = ("new paid shipped delivered cancelled refunded").split()


def customer(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return "(%d,'%s','%s','%s.%s%d@%s','2023-%02d-%02d %02d:%02d:%02d',%d)" % (
        i, first.title(), last.title(), first, last, rng.randrange(1000), rng.choice(DOMAINS),
        rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
        rng.randrange(60), rng.randrange(2))


def order(rng, i):
    note = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 12)))
    return "(%d,%d,'%s',%d.%02d,'2024-%02d-%02d %02d:%02d:%02d','%s','%032x')" % (
        i, rng.randrange(1, 200000), rng.choice(STATUS), rng.randrange(1, 2000), rng.randrange(100),
        rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
        rng.randrange(60), note, rng.getrandbits(128) if rng.random() < 0.3 else 0)


def main():
    out_path = sys.argv[1]
    size = int(sys.argv[2] if len(sys.argv) > 2 else 500) * 1000 * 1000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    written = 0
    ids = {"customers": 0, "orders": 0}
    with open(out_path, "w") as out:
        out.write("-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n/*!40101 SET NAMES utf8mb4 */;\n")
        while written < size:
            table = "orders" if rng.random() < 0.75 else "customers"
            make = order if table == "orders" else customer
            rows = []
            for _ in range(500):
                ids[table] += 1
                rows.append(make(rng, ids[table]))
            line = "INSERT INTO `%s` VALUES %s;\n" % (table, ",".join(rows))
            out.write(line)
            written += len(line)


if __name__ == "__main__":
    main()
