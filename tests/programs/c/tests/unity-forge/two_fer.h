#ifndef TWO_FER_H
#define TWO_FER_H

#define BUFFER_SIZE 100

void two_fer(char *buffer, const char *name);
int add(int a, int b);

#endif
