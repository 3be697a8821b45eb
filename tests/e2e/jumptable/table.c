int classify(int n)
{
    switch (n) {
    case 0: return 17;
    case 1: return 4;
    case 2: return 99;
    case 3: return 12;
    case 4: return 8;
    case 5: return 61;
    case 6: return 33;
    case 7: return 2;
    case 8: return 71;
    case 9: return 45;
    case 10: return 5;
    case 11: return 88;
    case 12: return 23;
    case 13: return 9;
    case 14: return 54;
    case 15: return 31;
    case 16: return 77;
    case 17: return 6;
    case 18: return 40;
    case 19: return 19;
    case 20: return 64;
    case 21: return 3;
    case 22: return 58;
    case 23: return 27;
    default: return -1;
    }
}

const char *spell(char c)
{
    switch (c) {
    case 'a': return "alpha";
    case 'b': return "bravo";
    case 'c': return "charlie";
    case 'd': return "delta";
    case 'e': return "echo";
    case 'f': return "foxtrot";
    case 'g': return "golf";
    case 'h': return "hotel";
    case 'i': return "india";
    case 'j': return "juliet";
    case 'k': return "kilo";
    case 'l': return "lima";
    case 'm': return "mike";
    case 'n': return "november";
    case 'o': return "oscar";
    case 'p': return "papa";
    case 'q': return "quebec";
    case 'r': return "romeo";
    case 's': return "sierra";
    case 't': return "tango";
    case 'u': return "uniform";
    case 'v': return "victor";
    case 'w': return "whiskey";
    case 'x': return "xray";
    case 'y': return "yankee";
    case 'z': return "zulu";
    default: return "?";
    }
}
